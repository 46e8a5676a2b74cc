// The console's shell: sign-in, the navigation for the signed-in role, and the
// hash route that picks a view. The token lives in sessionStorage only: it is
// gone when the tab closes and never appears in a URL.

import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { Api } from "./api";
import type { Session } from "./types";
import { SignIn } from "./views/signin";
import { Plugins } from "./views/plugins";
import { PluginDetail } from "./views/plugin";
import { DeadLetterView } from "./views/dead_letter";
import { Install } from "./views/install";
import { Households } from "./views/households";
import { Revenue } from "./views/revenue";
import { Audit } from "./views/audit";

const TOKEN_KEY = "hearth.token";

export interface Context {
  api: Api;
  session: Session;
}

function useHash(): string[] {
  const read = () => location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const changed = () => setRoute(read());
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return route;
}

function App() {
  const [signedIn, setSignedIn] = useState<Context | null>(null);
  const [checking, setChecking] = useState(true);
  const route = useHash();

  // A token kept from earlier in this tab: check it is still good.
  useEffect(() => {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) return setChecking(false);
    const api = new Api(token);
    api
      .get<Session>("/v1/session")
      .then((session) => setSignedIn({ api, session }))
      .catch(() => sessionStorage.removeItem(TOKEN_KEY))
      .finally(() => setChecking(false));
  }, []);

  if (checking) return null;
  if (!signedIn) {
    return (
      <SignIn
        onSignedIn={(token, session) => {
          sessionStorage.setItem(TOKEN_KEY, token);
          setSignedIn({ api: new Api(token), session });
        }}
      />
    );
  }
  const signOut = () => {
    sessionStorage.removeItem(TOKEN_KEY);
    setSignedIn(null);
    location.hash = "";
  };
  return <Shell context={signedIn} route={route} onSignOut={signOut} />;
}

interface Link {
  href: string;
  label: string;
}

const OPERATOR_LINKS: Link[] = [
  { href: "#/plugins", label: "Plugins" },
  { href: "#/install", label: "Install" },
  { href: "#/households", label: "Households" },
  { href: "#/revenue", label: "Revenue" },
  { href: "#/audit", label: "Audit log" },
];

const PARTNER_LINKS: Link[] = [
  { href: "#/plugins", label: "My plugins" },
  { href: "#/revenue", label: "Statements" },
];

function Shell({ context, route, onSignOut }: { context: Context; route: string[]; onSignOut: () => void }) {
  const operator = context.session.role === "operator";
  const links = operator ? OPERATOR_LINKS : PARTNER_LINKS;
  const [first = "plugins", second, third, fourth] = route;
  let view;
  if (first === "plugins" && second && third === "dead-letters" && fourth) {
    view = <DeadLetterView context={context} plugin={second} seq={fourth} />;
  } else if (first === "plugins" && second) {
    view = <PluginDetail context={context} id={second} />;
  } else if (first === "install" && operator) {
    view = <Install context={context} plugin={second} />;
  } else if (first === "households" && operator) {
    view = <Households context={context} />;
  } else if (first === "revenue") {
    view = <Revenue context={context} />;
  } else if (first === "audit" && operator) {
    view = <Audit context={context} />;
  } else {
    view = <Plugins context={context} />;
  }
  const who = operator ? "Operator" : `Partner ${context.session.scope}`;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <strong class="brand">Hearth console</strong>
        <nav aria-label="Main">
          <ul>
            {links.map((link) => (
              <li key={link.href}>
                <a href={link.href} aria-current={link.href === `#/${first}` ? "page" : undefined}>
                  {link.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who" data-testid="who">
          {who}
        </span>
        <button type="button" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {view}
      </main>
    </>
  );
}

const root = document.getElementById("app");
if (root) render(<App />, root);
