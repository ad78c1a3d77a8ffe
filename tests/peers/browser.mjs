// Drives Debian's Chromium (headless) through Playwright against a running onair, for the
// browser tests in tests/api/browser.rs. Runs from a folder where `npm install playwright-core`
// was done (the test copies it there; .ci/run installs it) with /usr/bin/chromium (or
// ONAIR_CHROMIUM).
//
//   node browser.mjs BASE_URL SCREENSHOT_DIR YP_URL SID HANDLE LISTEN_URL NAME PASSWORD
//
// Prints one JSON line with what it saw; exits non-zero when a step fails outright.
import { chromium } from "playwright-core";

const [base, shots, ypUrl, sid, handle, listenUrl, name, password] = process.argv.slice(2);
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
    await page.goto(`${base}/login`);
    await page.getByLabel("Name").fill(name);
    await page.getByLabel("Password").fill(password);
    await Promise.all([page.waitForURL(`${base}/dashboard`), page.getByRole("button", { name: "Sign in" }).click()]);
    if (size === "desktop") {
      await page.getByLabel("Label for a new YP URL").fill("browser test");
      await Promise.all([page.waitForLoadState("load"), page.getByRole("button", { name: "Create YP URL" }).click()]);
      seen.snippet = await page.locator("#snippet").textContent();
      seen.ypUrl = await page.locator("#yp-url").textContent();
    }
    const dash = `${shots}/dashboard-${size}.png`;
    await page.screenshot({ path: dash, fullPage: true });
    seen.screenshots.push(dash);
    await page.close();
  }
  seen.expectedListenUrl = listenUrl;
  console.log(JSON.stringify(seen));
} finally {
  await browser.close();
}
