// What other sites make of a stream page, in Debian's Chromium through Playwright (for
// tests/api/browser.rs): the page's OpenGraph tags rendered as a link card the way Mastodon lays
// one out, and the embed player inside a parent page on another origin, whose title follows a
// YP touch live; the stream page itself in a frame must be refused.
//
//   node embeds.mjs BASE_URL HANDLE PARENT_URL SCREENSHOT_DIR YP_URL TOUCH_BODY NEW_TITLE
//
// Prints one JSON line with what it saw; exits non-zero when a step fails outright.
import { chromium } from "playwright-core";

const [base, handle, parentUrl, shots, ypUrl, touchBody, newTitle] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.ONAIR_CHROMIUM || "/usr/bin/chromium",
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const seen = { screenshots: [] };
const escape = (s) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

try {
  // The preview card: what a server reading the page's tags can show.
  const page = await browser.newPage({ viewport: { width: 640, height: 480 }, deviceScaleFactor: 1 });
  await page.goto(`${base}/streams/${handle}`);
  seen.og = await page.evaluate(() => {
    const out = {};
    for (const m of document.querySelectorAll("meta[property^='og:'], meta[name^='twitter:']")) {
      out[m.getAttribute("property") || m.getAttribute("name")] = m.content;
    }
    return out;
  });
  const og = seen.og;
  // The card on a page of its own, answered by Playwright (the stream page's CSP would refuse
  // its inline styles; a blank page may not load images from localhost).
  const cardHtml = `<!doctype html><meta charset="utf-8">
    <style>body{font:15px system-ui;background:#f2f3f5;margin:24px}
    .card{display:flex;flex-direction:column;width:520px;border:1px solid #c0c4d0;border-radius:8px;overflow:hidden;background:#fff}
    .card img{width:100%;aspect-ratio:1200/630;object-fit:cover;display:block}
    .card div{padding:10px 14px}.site{color:#606984;font-size:13px}.title{font-weight:700;margin:4px 0}</style>
    <a class="card" href="${escape(og["og:url"])}"><img alt="" src="${escape(og["og:image"])}">
    <div><p class="site">${escape(og["og:site_name"])}</p><p class="title">${escape(og["og:title"])}</p>
    <p>${escape(og["og:description"])}</p></div></a>`;
  await page.route(`${base}/__card`, (route) =>
    route.fulfill({ contentType: "text/html; charset=utf-8", body: cardHtml }));
  await page.goto(`${base}/__card`);
  await page.waitForFunction(() => {
    const img = document.querySelector(".card img");
    return img.complete && img.naturalWidth > 0;
  });
  seen.cardImageWidth = await page.evaluate(() => document.querySelector(".card img").naturalWidth);
  const card = `${shots}/card-preview.png`;
  await page.locator(".card").screenshot({ path: card });
  seen.screenshots.push(card);

  // The embed on another origin's page, at both widths.
  for (const [size, viewport] of Object.entries({
    desktop: { width: 1280, height: 800 },
    phone: { width: 390, height: 844 },
  })) {
    const parent = await browser.newPage({ viewport, deviceScaleFactor: 1 });
    await parent.goto(parentUrl);
    const player = parent.frameLocator("#player");
    await player.locator("#title").waitFor();
    seen[`${size}EmbedTitle`] = await player.locator("#title").textContent();
    seen[`${size}EmbedAudio`] = await player.locator("audio").count();
    seen[`${size}EmbedOrigin`] = await parent.evaluate(() => location.origin);
    if (size === "desktop") {
      const answer = await fetch(ypUrl, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "user-agent": "Icecast 2.4.4" },
        body: touchBody,
      });
      seen.touchAnswer = answer.headers.get("ypresponse");
      await player.locator("#title").filter({ hasText: newTitle }).waitFor({ timeout: 15000 });
      seen.embedTitleUpdated = (await player.locator("#title").textContent()) === newTitle;
    }
    // The stream page itself refuses frames (frame-ancestors 'none'): its heading never renders.
    const framed = parent.frames().find((f) => f.url().includes(`/streams/${handle}`) && !f.url().endsWith("/embed"));
    seen[`${size}PageFramed`] = framed
      ? await framed.evaluate(() => !!document.querySelector("h1")).catch(() => false)
      : false;
    const shot = `${shots}/embed-parent-${size}.png`;
    await parent.screenshot({ path: shot, fullPage: true });
    seen.screenshots.push(shot);
    await parent.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
