// Sign-in: a token pasted by an operator or a partner; its role decides the view.

import { useState } from "preact/hooks";
import { Api } from "../api";
import type { Session } from "../types";
import { ErrorNote, useAction } from "../ui";

export function SignIn({ onSignedIn }: { onSignedIn: (token: string, session: Session) => void }) {
  const [token, setToken] = useState("");
  const action = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    void action.run(async () => {
      const session = await new Api(token.trim()).get<Session>("/v1/session");
      if (session.role !== "operator" && session.role !== "partner") {
        throw new Error(`this is a ${session.role} token: the console is for operators and partners`);
      }
      onSignedIn(token.trim(), session);
    });
  };
  return (
    <main id="main" class="signin">
      <h1>Hearth console</h1>
      <form onSubmit={submit}>
        <label for="token">Operator or partner token</label>
        <input
          id="token"
          type="password"
          autocomplete="off"
          spellcheck={false}
          required
          value={token}
          onInput={(event) => setToken(event.currentTarget.value)}
        />
        <p class="muted">The token stays in this tab's session and is sent only to this server.</p>
        <button class="primary" type="submit" disabled={action.busy}>
          Sign in
        </button>
        <ErrorNote error={action.error} />
      </form>
    </main>
  );
}
