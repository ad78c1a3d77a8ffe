// Drives Debian's Chromium (headless) through Playwright against a running onair, for the
// browser tests in tests/api/browser.rs. Runs from a folder where `npm install playwright-core`
// was done (the test copies it there; .ci/run installs it) with /usr/bin/chromium (or
// ONAIR_CHROMIUM).
//
//   node browser.mjs BASE_URL SCREENSHOT_DIR YP_URL SID HANDLE LISTEN_URL NAME PASSWORD OTHER_NAME
//
// Prints one JSON line with what it saw; exits non-zero when a step fails outright.
import { chromium } from "playwright-core";

const [base, shots, ypUrl, sid, handle, listenUrl, name, password, otherName] =
  process.argv.slice(2);

async function signIn(page, who) {
  await page.goto(`${base}/login`);
  await page.getByLabel("Name").fill(who);
  await page.getByLabel("Password").fill(password);
  await Promise.all([
    page.waitForURL(`${base}/dashboard`),
    page.getByRole("button", { name: "Sign in" }).click(),
  ]);
}
const executablePath = process.env.ONAIR_CHROMIUM || "/usr/bin/chromium";
// Without the background-networking flags Chromium tries Google's hosts, which this machine's
// closed network refuses.
const browser = await chromium.launch({
  executablePath,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const seen = { screenshots: [], cspViolations: [] };
const sizes = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };

try {
  for (const [name, viewport] of Object.entries(sizes)) {
    const page = await browser.newPage({ viewport, deviceScaleFactor: 1 });
    page.on("console", (m) => {
      if (m.text().includes("Content Security Policy")) seen.cspViolations.push(m.text());
    });

    await page.goto(`${base}/`);
    const audio = page.locator("audio").first();
    seen[`${name}HomeAudioSrc`] = await audio.getAttribute("src");
    seen[`${name}HomeAudioPreload`] = await audio.getAttribute("preload");
    const home = `${shots}/home-${name}.png`;
    await page.screenshot({ path: home, fullPage: true });
    seen.screenshots.push(home);

    await page.goto(`${base}/streams/${handle}`);
    // A marker that a reload would wipe.
    await page.evaluate(() => { window.__onairMarker = "kept"; });
    const title = `Title for ${name} ${Date.now()}`;
    const body = new URLSearchParams({ action: "touch", sid, st: title, listeners: "3" });
    const res = await fetch(ypUrl, { method: "POST", body: body.toString() });
    seen[`${name}TouchAnswer`] = res.headers.get("YPResponse");
    await page.waitForFunction(
      (t) => document.getElementById("title")?.textContent === t, title, { timeout: 15000 },
    );
    seen[`${name}TitleUpdated`] = await page.locator("#title").textContent() === title;
    seen[`${name}NoReload`] = await page.evaluate(() => window.__onairMarker) === "kept";
    const stream = `${shots}/stream-${name}.png`;
    await page.screenshot({ path: stream, fullPage: true });
    seen.screenshots.push(stream);
    await page.close();
  }
  // The broadcaster signs in (the form, no script needed) and makes a YP URL.
  for (const [size, viewport] of Object.entries(sizes)) {
    const page = await browser.newPage({ viewport, deviceScaleFactor: 1 });
    await signIn(page, name);
    if (size === "desktop") {
      await page.getByLabel("Label for a new YP URL").fill("browser test");
      await Promise.all([page.waitForLoadState("load"), page.getByRole("button", { name: "Create YP URL" }).click()]);
      seen.snippet = await page.locator("#snippet").textContent();
      seen.ypUrl = await page.locator("#yp-url").textContent();
      const add = new URLSearchParams({
        action: "add", sn: "Browser FM", genre: "Rock", type: "audio/mpeg",
        listenurl: "http://radio.example:8000/browser",
      });
      const res = await fetch(seen.ypUrl, { method: "POST", body: add.toString() });
      seen.newUrlAddAnswer = res.headers.get("YPResponse");
    }
    const dash = `${shots}/dashboard-${size}.png`;
    await page.screenshot({ path: dash, fullPage: true });
    seen.screenshots.push(dash);
    await page.close();
  }
  // Revoking the new YP URL in the page makes Icecast's next add fail.
  {
    const page = await browser.newPage({ viewport: sizes.desktop });
    await signIn(page, name);
    const row = page.locator("li", { hasText: "browser test" });
    await Promise.all([page.waitForURL(`${base}/dashboard`), row.getByRole("button", { name: "Revoke" }).click()]);
    seen.revokedShown = await page.locator("li", { hasText: "browser test" }).textContent();
    const add = new URLSearchParams({
      action: "add", sn: "Revoked FM", genre: "Test", type: "audio/mpeg",
      listenurl: "http://radio.example:8000/revoked",
    });
    const res = await fetch(seen.ypUrl, { method: "POST", body: add.toString() });
    seen.revokedAddAnswer = res.headers.get("YPResponse");
    seen.revokedAddMessage = res.headers.get("YPMessage");

    // A form whose CSRF token was taken out is refused.
    await page.evaluate(() => {
      document.querySelectorAll('form[action="/dashboard/tokens"] input[name="csrf"]')
        .forEach((i) => i.remove());
    });
    await page.getByLabel("Label for a new YP URL").fill("no token");
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/dashboard/tokens")),
      page.getByRole("button", { name: "Create YP URL" }).click(),
    ]);
    seen.noCsrfStatus = answer.status();
    await page.close();
  }

  // Another broadcaster sees none of it, and cannot act on it.
  {
    const page = await browser.newPage({ viewport: sizes.desktop });
    await signIn(page, otherName);
    const text = await page.locator("main").textContent();
    seen.otherSeesStream = text.includes("Night Jazz");
    seen.otherSeesToken = text.includes("browser test");
    const csrf = await page.locator('input[name="csrf"]').first().inputValue();
    const status = await page.evaluate(async ([h, c]) => {
      const body = new URLSearchParams({ csrf: c, approval: "on", on_end: "delete" });
      const r = await fetch(`/dashboard/streams/${h}/settings`, { method: "POST", body });
      return r.status;
    }, [handle, csrf]);
    seen.otherChangesSettings = status;
    await page.close();
  }
  seen.expectedListenUrl = listenUrl;
  console.log(JSON.stringify(seen));
} finally {
  await browser.close();
}
