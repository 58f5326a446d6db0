// Two headless Chromium pages open the chat example's page, join a room and see each other's
// messages. Usage: node chat.mjs BASE_URL TOKEN_ADA TOKEN_BOB (run by tests/integration/browser.rs).
import { chromium } from "playwright-core";

const [base, tokenAda, tokenBob] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
try {
  const ada = await browser.newPage();
  const bob = await browser.newPage();
  await ada.goto(`${base}/chat/?token=${tokenAda}&room=lobby`);
  await bob.goto(`${base}/chat/?token=${tokenBob}&room=lobby`);
  await ada.waitForSelector("#presence:has-text('bob')", { timeout: 10000 });
  await ada.fill("#text", "hello from ada");
  await ada.click("#send");
  await bob.waitForSelector("li:has-text('ada: hello from ada')", { timeout: 10000 });
  await bob.waitForSelector("#typing:has-text('ada is typing')", { timeout: 10000 });
  await bob.fill("#text", "hi ada");
  await bob.click("#send");
  await ada.waitForSelector("li:has-text('bob: hi ada')", { timeout: 10000 });
  console.log("ok: both pages saw each other's messages");
} finally {
  await browser.close();
}
