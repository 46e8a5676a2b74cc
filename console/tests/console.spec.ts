// The console in a real Chromium against a real host: what an operator and a
// partner do, and what neither may do. Each main view is saved as a screenshot.

import { type Page, type Request, expect, test } from "@playwright/test";
import { join } from "node:path";
import { RECIPE, RECORDER, call, world } from "./world";

const w = world();
const shot = (page: Page, name: string) => page.screenshot({ path: join(w.artifacts, `${name}.png`), fullPage: true });

// Every request any page makes, to check none leaves loopback.
const requests: string[] = [];
const violations: string[] = [];
test.beforeEach(({ page }) => {
  page.on("request", (request: Request) => requests.push(request.url()));
  page.on("console", (message) => {
    if (message.type() === "error") violations.push(message.text());
  });
});

async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(`${w.url}/console/`);
  await page.getByLabel("Operator or partner token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("button", { name: "Sign out" })).toBeVisible();
}

/** Sends events as the test fridge, straight to the API (appliances do not use the
 * console): door openings, or an `ext.test.thing` event with the given body. */
async function send(events: { id: string; body?: Record<string, unknown> }[]): Promise<void> {
  const batch = events.map((event) => ({
    id: event.id,
    topic: event.body ? "ext.test.thing" : "appliance.fridge.door",
    time_ms: Date.now(),
    body: event.body ?? { state: "open" },
  }));
  await call(w.url, w.device.token, "POST", "/v1/events", batch);
}

async function setConfig(plugin: string, key: string, value: string): Promise<void> {
  await call(w.url, w.operator, "PUT", `/v1/plugins/${plugin}/config/${key}`, { value });
}

async function grantFridge(plugin: string): Promise<void> {
  await call(w.url, w.user, "PUT", `/v1/me/grants/${plugin}`, { device_kinds: ["fridge"], devices: [], control: false });
}

function row(page: Page, plugin: string) {
  return page.locator(`tr[data-plugin="${plugin}"]`);
}

test.describe.serial("the console", () => {
  test("signs in with an operator token, refusing a wrong one in the API's words", async ({ page }) => {
    await page.goto(`${w.url}/console/`);
    await page.getByLabel("Operator or partner token").fill("not-a-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert")).toContainText(/token/i);
    await signIn(page, w.operator);
    await expect(page.getByTestId("who")).toHaveText("Operator");
    // The token is in this tab's session only: not in the URL, not in local storage.
    expect(page.url()).not.toContain(w.operator);
    expect(await page.evaluate(() => JSON.stringify(localStorage))).not.toContain(w.operator);
    expect(await page.evaluate(() => sessionStorage.getItem("hearth.token"))).toBe(w.operator);
    // A reload keeps the session.
    await page.reload();
    await expect(page.getByTestId("who")).toHaveText("Operator");
    await expect(page.getByText("No plugins installed.")).toBeVisible();
  });

  test("installs plugins from package files after showing what they request", async ({ page }) => {
    await signIn(page, w.operator);
    await page.getByRole("link", { name: "Install" }).click();
    await page.getByLabel("Signed package (.hpkg)").setInputFiles(w.packages.recipe);
    const review = page.getByRole("region", { name: "Review" });
    await expect(review).toContainText(`Review ${RECIPE} 0.1.0`);
    await expect(review).toContainText("not installed");
    await expect(review.getByTestId("capabilities")).toContainText("kv: its own key-value storage");
    await shot(page, "install-review");
    await review.getByRole("button", { name: "Install 0.1.0" }).click();
    await expect(page.getByTestId("installed")).toContainText(`${RECIPE} 0.1.0 is running`);

    await page.getByLabel("Signed package (.hpkg)").setInputFiles(w.packages.recorder);
    await page.getByRole("region", { name: "Review" }).getByRole("button", { name: "Install 0.1.0" }).click();
    await expect(page.getByTestId("installed")).toContainText(`${RECORDER} 0.1.0 is running`);

    await page.getByRole("link", { name: "Plugins", exact: true }).click();
    await expect(row(page, RECIPE)).toContainText("running");
    await expect(row(page, RECORDER)).toContainText("running");
  });

  test("counts an event a fridge sends, live, without a reload", async ({ page }) => {
    await grantFridge(RECORDER);
    await grantFridge(RECIPE);
    await signIn(page, w.operator);
    await expect(row(page, RECORDER).getByTestId("delivered")).toHaveText("0");
    await send([{ id: "door-1" }]);
    await expect(row(page, RECORDER).getByTestId("delivered")).toHaveText("1");
    await shot(page, "plugins");

    await row(page, RECORDER).getByRole("link", { name: RECORDER }).click();
    await expect(page.locator('[data-figure="Delivered"]')).toHaveText("1");
    // The charts fill from the host's meters while events arrive.
    for (let index = 0; index < 6; index++) {
      await send(Array.from({ length: 50 }, (_, n) => ({ id: `burst-${index}-${n}` })));
      await page.waitForTimeout(500);
    }
    await expect(page.locator('[data-chart="Events handled"] [data-testid="latest"]')).not.toHaveText(/now: (–|0\.00)/);
    await expect(page.locator('[data-chart="on-event latency"] [data-testid="latest"]')).toContainText("p99:");
    await expect(page.locator('[data-figure="Delivered"]')).toHaveText("301");
    await shot(page, "plugin");
  });

  test("shows a dead letter's event and error, and redrives it", async ({ page }) => {
    await signIn(page, w.operator);
    await send([{ id: "poison-1", body: { poison: true } }]);
    await page.goto(`${w.url}/console/#/plugins/${RECORDER}`);
    const letters = page.getByRole("region", { name: "Dead letters" });
    await expect(letters.locator("tr[data-seq]")).toHaveCount(1);
    await letters.locator("tr[data-seq] a").click();
    await expect(page.getByTestId("dead-letter-error")).toContainText("is poison");
    await expect(page.getByLabel("Event body")).toContainText('"poison": true');
    await shot(page, "dead-letter");
    // Redriving while the plugin still refuses it shows the API's error and keeps it.
    await page.getByRole("button", { name: "Redrive" }).click();
    await expect(page.getByRole("alert")).toContainText("is poison");
    await setConfig(RECORDER, "cure", "yes");
    await page.getByRole("button", { name: "Redrive" }).click();
    await expect(page.getByText("Delivered: the dead letter is gone.")).toBeVisible();
    await page.getByRole("link", { name: `Back to ${RECORDER}` }).click();
    await expect(page.getByRole("region", { name: "Dead letters" })).toContainText("None.");
    await expect(page.locator('[data-figure="Delivered"]')).toHaveText("302");
  });

  test("resumes a quarantined plugin", async ({ page }) => {
    await setConfig(RECORDER, "fail", "all");
    await send([{ id: "fail-1" }, { id: "fail-2" }, { id: "fail-3" }]);
    await signIn(page, w.operator);
    await expect(row(page, RECORDER)).toContainText("quarantined");
    await expect(row(page, RECORDER)).toContainText("failing every event on request");
    await row(page, RECORDER).getByRole("link", { name: RECORDER }).click();
    await expect(page.getByRole("region", { name: "Quarantine" })).toContainText("failures in a row");
    await shot(page, "quarantined");
    await setConfig(RECORDER, "fail", "no");
    await page.getByRole("button", { name: "Resume" }).click();
    await expect(page.locator("h1 .badge")).toHaveText("running");
    await expect(page.getByRole("button", { name: "Resume" })).toHaveCount(0);
  });

  test("upgrades from the registry after the capability review, then rolls back", async ({ page }) => {
    await signIn(page, w.operator);
    await page.goto(`${w.url}/console/#/plugins/${RECIPE}`);
    await page.getByRole("link", { name: "Upgrade…" }).click();
    await expect(page.getByRole("heading", { name: `Upgrade ${RECIPE}` })).toBeVisible();
    await page.getByRole("button", { name: "Review 0.2.0" }).click();
    const review = page.getByRole("region", { name: "Review" });
    await expect(review).toContainText("Installed now0.1.0");
    await shot(page, "upgrade-review");
    await review.getByRole("button", { name: "Upgrade 0.1.0 → 0.2.0" }).click();
    await expect(page.getByTestId("installed")).toContainText(`${RECIPE} 0.2.0 is running`);
    await page.getByRole("link", { name: `Open ${RECIPE}` }).click();
    await expect(page.locator("h1 .version")).toHaveText("0.2.0");
    await page.getByRole("button", { name: "Roll back to 0.1.0" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Roll back" }).click();
    await expect(page.locator("h1 .version")).toHaveText("0.1.0");
  });

  test("edits a plugin's limits and refuses grants beyond its request with the API's message", async ({ page }) => {
    await signIn(page, w.operator);
    await page.goto(`${w.url}/console/#/plugins/${RECORDER}`);
    const limits = page.getByRole("form", { name: "Limits" });
    await limits.getByLabel("Event timeout (ms)").fill("80");
    await limits.getByRole("button", { name: "Save limits" }).click();
    await expect(page.getByRole("region", { name: "Limits" })).toContainText("80 ms per event");
    const grants = page.getByRole("form", { name: "Grants" });
    await grants.getByLabel("Notifications to households").check();
    await grants.getByRole("button", { name: "Save grants" }).click();
    await expect(grants.getByRole("alert")).toContainText(`a grant may not exceed what ${RECORDER} requests`);
  });

  test("lists households and devices, agreements and statements, and the audit log", async ({ page }) => {
    await signIn(page, w.operator);
    await page.getByRole("link", { name: "Households" }).click();
    await expect(page.locator('tr[data-household="house-1"]')).toContainText("fridge-1");
    await page.getByLabel("Household id").fill("house-2");
    await page.getByRole("button", { name: "Register household" }).click();
    await expect(page.locator('tr[data-household="house-2"]')).toContainText("no devices");
    await shot(page, "households");

    await page.getByRole("link", { name: "Revenue" }).click();
    const agreements = page.getByRole("region", { name: "Agreements" });
    await agreements.getByLabel("Publisher", { exact: true }).fill("example");
    await agreements.getByLabel("Share of gross (%)").fill("72.5");
    await page.getByRole("button", { name: "Set agreement" }).click();
    await expect(page.getByRole("region", { name: "Agreements" })).toContainText("72.50 %");
    await page.locator("#statement-publisher").fill("example");
    await page.getByRole("button", { name: "Show statement" }).click();
    await expect(page.getByTestId("statement")).toContainText("example");
    await shot(page, "revenue");

    await page.getByRole("link", { name: "Audit log" }).click();
    await expect(page.getByRole("table")).toContainText("plugin.install");
    await expect(page.getByRole("table")).toContainText("agreement");
    await shot(page, "audit");
  });

  test("shows a partner only its own plugins, in the page and in every answer the page gets", async ({ page }) => {
    const bodies: string[] = [];
    page.on("response", async (response) => {
      if (response.url().includes("/v1/")) bodies.push(`${response.url()} ${await response.text().catch(() => "")}`);
    });
    await signIn(page, w.partners.example);
    await expect(page.getByTestId("who")).toHaveText("Partner example");
    await expect(row(page, RECIPE)).toContainText("running");
    await expect(row(page, RECORDER)).toHaveCount(0);
    await expect(page.getByRole("link", { name: "Install" })).toHaveCount(0);
    await shot(page, "partner-plugins");
    await row(page, RECIPE).getByRole("link", { name: RECIPE }).click();
    await expect(page.getByRole("region", { name: "Log" })).toBeVisible();
    await expect(page.getByRole("region", { name: "Dead letters" })).toBeVisible();
    await shot(page, "partner-plugin");
    // Another publisher's plugin, asked for by its address: not there.
    await page.goto(`${w.url}/console/#/plugins/${RECORDER}`);
    await expect(page.getByRole("alert")).toContainText(`plugin ${RECORDER} is not installed`);
    await page.getByRole("link", { name: "Statements" }).click();
    await page.getByRole("button", { name: "Show statement" }).click();
    await expect(page.getByTestId("statement")).toContainText("example");
    await page.waitForTimeout(500);
    expect(bodies.length).toBeGreaterThan(3);
    for (const body of bodies) expect(body).not.toContain(RECORDER);
    // And straight at the API with the same token.
    for (const path of [`/v1/partner/plugins/${RECORDER}/logs`, `/v1/partner/plugins/${RECORDER}/dead-letters`]) {
      await expect(call(w.url, w.partners.example, "GET", path)).rejects.toThrow(/404/);
    }
    for (const path of ["/v1/plugins", `/v1/plugins/${RECORDER}`, "/v1/metrics/plugins", "/v1/households", "/v1/audit"]) {
      await expect(call(w.url, w.partners.example, "GET", path)).rejects.toThrow(/403/);
    }
  });

  test("works at phone width and with the keyboard alone", async ({ page }) => {
    await page.setViewportSize({ width: 390, height: 844 });
    await signIn(page, w.operator);
    await expect(row(page, RECIPE)).toBeVisible();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await shot(page, "phone-plugins");
    await page.goto(`${w.url}/console/#/plugins/${RECIPE}`);
    await expect(page.locator("h1")).toContainText(RECIPE);
    await shot(page, "phone-plugin");

    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(`${w.url}/console/#/plugins`);
    await expect(row(page, RECIPE)).toBeVisible();
    // Tab from the top: the skip link first, then the navigation.
    await page.keyboard.press("Tab");
    await expect(page.getByRole("link", { name: "Skip to content" })).toBeFocused();
    await page.keyboard.press("Tab");
    await expect(page.getByRole("link", { name: "Plugins", exact: true })).toBeFocused();
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    await expect(page.getByRole("link", { name: "Households" })).toBeFocused();
    await page.keyboard.press("Enter");
    await expect(page).toHaveURL(/#\/households$/);
    // The remove dialog: Escape cancels, nothing is removed.
    await page.goto(`${w.url}/console/#/plugins/${RECIPE}`);
    await page.getByRole("button", { name: "Remove" }).focus();
    await page.keyboard.press("Enter");
    await expect(page.getByRole("dialog")).toBeVisible();
    await page.keyboard.press("Escape");
    await expect(page.getByRole("dialog")).toHaveCount(0);
    await expect(page.locator("h1 .badge")).toHaveText("running");
  });

  test("removes a plugin only after the confirmation", async ({ page }) => {
    await signIn(page, w.operator);
    await page.goto(`${w.url}/console/#/plugins/${RECIPE}`);
    await page.getByRole("button", { name: "Remove" }).click();
    await page.getByRole("dialog").getByRole("button", { name: `Remove ${RECIPE}` }).click();
    await expect(page).toHaveURL(/#\/plugins$/);
    await expect(row(page, RECIPE)).toHaveCount(0);
    await expect(row(page, RECORDER)).toBeVisible();
  });

  test("serves a strict Content-Security-Policy and requests nothing off this server", async ({ page }) => {
    const response = await page.goto(`${w.url}/console/`);
    const policy = response?.headers()["content-security-policy"] ?? "";
    for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) {
      expect(policy).toContain(directive);
    }
    expect(response?.headers()["x-content-type-options"]).toBe("nosniff");
    // An injected inline script does not run.
    await page.evaluate(() => {
      const script = document.createElement("script");
      script.textContent = "window.injected = true";
      document.body.append(script);
    });
    expect(await page.evaluate(() => (window as unknown as { injected?: boolean }).injected)).toBeUndefined();
    const origin = new URL(w.url).origin;
    const elsewhere = requests.filter((url) => !url.startsWith(origin) && !url.startsWith("data:"));
    expect(elsewhere).toEqual([]);
    expect(requests.length).toBeGreaterThan(50);
    // Only the injected script's refusal is reported; the console itself breaks no rule.
    expect(violations.filter((text) => /Content Security Policy/.test(text) && !/inline script/i.test(text))).toEqual([]);
  });
});
