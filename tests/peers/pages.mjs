// The pages as a listener, a broadcaster and an admin meet them, in Debian's Chromium through
// Playwright (for tests/api/browser.rs): error pages, the dark scheme, sign-in returning to the
// page that asked, the admin link, the copy button, one height per control row, and the ending
// state arriving live on an open stream page. Screenshots at desktop and phone widths.
//
//   node pages.mjs BASE_URL SCREENSHOT_DIR HANDLE ADMIN PASSWORD YP_URL SID
//
// Prints one JSON line with what it saw; exits non-zero when a step fails outright.
import { chromium } from "playwright-core";

const [base, shots, handle, admin, password, ypUrl, sid] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.ONAIR_CHROMIUM || "/usr/bin/chromium",
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const sizes = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };
const seen = { screenshots: [], uneven: [], overflow: [] };

async function shot(page, name) {
  const path = `${shots}/${name}.png`;
  await page.screenshot({ path, fullPage: true });
  seen.screenshots.push(path);
}

// Controls that sit on one line must be one height: rows are grouped by their top edge.
async function uneven(page, where) {
  // Nothing may make the page scroll sideways (a phone hides what is off to the right).
  const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (wide > 0) seen.overflow.push({ where, by: wide });
  const rows = await page.evaluate(() => {
    const controls = [...document.querySelectorAll("main input:not([type=hidden]), main select, main button")]
      .filter((e) => e.offsetParent !== null && !e.hidden);
    const byTop = {};
    for (const e of controls) {
      const r = e.getBoundingClientRect();
      const top = Math.round((r.top + window.scrollY) / 4);
      (byTop[top] ||= []).push({ h: Math.round(r.height), what: e.outerHTML.slice(0, 60) });
    }
    return Object.values(byTop).filter((row) => row.length > 1);
  });
  for (const row of rows) {
    const heights = new Set(row.map((c) => c.h));
    if (heights.size > 1) seen.uneven.push({ where, row });
  }
}

try {
  const open = [];
  for (const [size, viewport] of Object.entries(sizes)) {
    const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
    const page = await context.newPage();

    // An unknown path is a page, not JSON.
    const missing = await page.goto(`${base}/no/such/page`);
    seen[`${size}ErrorStatus`] = missing.status();
    seen[`${size}ErrorHeading`] = await page.locator("main h1").first().textContent();
    await shot(page, `error-${size}`);

    // Signing in from /admin comes back to /admin, whose navigation links it.
    await page.goto(`${base}/admin`);
    seen[`${size}LoginUrl`] = new URL(page.url()).pathname + new URL(page.url()).search;
    await page.getByLabel("Name").fill(admin);
    await page.getByLabel("Password").fill(password);
    await Promise.all([page.waitForURL(`${base}/admin`), page.getByRole("button", { name: "Sign in" }).click()]);
    seen[`${size}AfterSignIn`] = new URL(page.url()).pathname;
    seen[`${size}AdminLink`] = await page.locator("header nav a", { hasText: "Admin" }).count();
    await uneven(page, `${size} /admin`);
    await shot(page, `admin-${size}`);
    await page.goto(`${base}/dashboard`);
    // A new YP URL's panel, with the icecast.xml fragment and its copy button.
    await page.getByLabel("Label for a new YP URL").fill("studio");
    await Promise.all([page.waitForURL(`${base}/dashboard/tokens`), page.getByRole("button", { name: "Create YP URL" }).click()]);
    seen[`${size}Setup`] = await page.locator("#setup").textContent();
    seen[`${size}SnippetCopy`] = await page.locator("button.copy[data-copy=snippet]").isVisible();
    await uneven(page, `${size} /dashboard`);
    await shot(page, `dashboard-${size}`);
    await page.goto(`${base}/`);
    await uneven(page, `${size} /`);

    // The upcoming list and a show's page, times in the visitor's zone (Chromium's here: UTC).
    await page.goto(`${base}/`);
    seen[`${size}Upcoming`] = await page.locator(".upcoming li").count();
    seen[`${size}UpcomingLocal`] = await page.locator(".upcoming time").first().evaluate((t) => [t.textContent, t.title]);
    await shot(page, `home-upcoming-${size}`);
    await page.locator(".upcoming li a").first().click();
    seen[`${size}ShowTitle`] = await page.locator("main h1").textContent();
    seen[`${size}ShowCalendar`] = await page.locator("a", { hasText: "Add to a calendar" }).getAttribute("href");
    await uneven(page, `${size} show page`);
    await shot(page, `show-${size}`);

    // The handle's copy button copies it.
    await page.goto(`${base}/streams/${handle}`);
    await uneven(page, `${size} /streams/${handle}`);
    const copy = page.locator("button.copy[data-copy=handle]");
    await copy.click();
    await page
      .waitForFunction(() => document.querySelector("button.copy[data-copy=handle]").textContent === "Copied", null, { timeout: 5000 })
      .catch(() => {});
    seen[`${size}Copied`] = await copy.textContent();
    seen[`${size}Clipboard`] = await page.evaluate(() => navigator.clipboard.readText());
    open.push([size, page]);

    // The dark scheme, for systems that ask for it.
    const dark = await browser.newContext({ viewport, deviceScaleFactor: 1, colorScheme: "dark" });
    const darkPage = await dark.newPage();
    await darkPage.goto(`${base}/streams/${handle}`);
    seen[`${size}DarkGround`] = await darkPage.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    await shot(darkPage, `stream-dark-${size}`);
    await dark.close();
  }

  // The source stops: every open stream page says "Ending" and drops its player, live.
  const answer = await fetch(ypUrl, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "user-agent": "Icecast 2.4.4" },
    body: `action=remove&sid=${sid}`,
  });
  seen.removeAnswer = answer.headers.get("ypresponse");
  for (const [size, page] of open) {
    await page.locator("#status .badge", { hasText: "Ending" }).waitFor({ timeout: 15000 });
    seen[`${size}Ending`] = true;
    seen[`${size}PlayerHidden`] = await page.locator("#player").isHidden();
    await shot(page, `stream-ending-${size}`);
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
