// Drives headless Debian chromium for tests/cockpit/test_cockpit.py.
//
// One JSON command per line on stdin, one JSON reply per line on stdout:
// {"id": N, "ok": true, "value": ...} or {"id": N, "ok": false, "error": "..."}.
// The test keeps the logic and the assertions; this only carries them out.
//
// Commands (all but "launch" and "close" act on one page):
//   launch   {locale}                  start chromium with a fresh profile
//   goto     {url}
//   eval     {expr, frame}             value of a JS expression
//   wait     {expr, frame, timeout}    until the expression is truthy; its value
//   click    {selector, frame}
//   fill     {selector, text, frame}
//   hover    {selector, frame}
//   select   {selector, value, frame}
//   screenshot {path}
//   console  {}                        browser console errors seen so far
//   close    {}
// "frame": a substring of the URL of the frame to act in (the Cockpit
// shell shows a package's page in an iframe); absent: the top page.
import { chromium } from "playwright-core";
import readline from "node:readline";

let browser = null;
let page = null;
const consoleErrors = [];

function frameFor(match) {
    if (!match)
        return page.mainFrame();
    const frame = page.frames().find(f => f.url().includes(match));
    if (!frame)
        throw new Error(`no frame whose URL contains "${match}" (frames: ${page.frames().map(f => f.url()).join(", ")})`);
    return frame;
}

async function waitFrame(match, timeout) {
    const end = Date.now() + timeout;
    for (;;) {
        try {
            return frameFor(match);
        } catch (e) {
            if (Date.now() > end)
                throw e;
            await new Promise(resolve => setTimeout(resolve, 100));
        }
    }
}

const commands = {
    async launch({ locale }) {
        browser = await chromium.launch({
            executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
            args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        const context = await browser.newContext({
            locale: locale || "en-US",
            viewport: { width: 1400, height: 2000 },
        });
        page = await context.newPage();
        page.on("console", msg => {
            if (msg.type() === "error")
                consoleErrors.push(msg.text());
        });
        page.on("pageerror", err => consoleErrors.push(String(err)));
        return browser.version();
    },
    async goto({ url }) {
        await page.goto(url, { waitUntil: "load" });
        return page.url();
    },
    async eval({ expr, frame, timeout }) {
        const f = await waitFrame(frame, timeout || 10000);
        return await f.evaluate(expr);
    },
    async wait({ expr, frame, timeout }) {
        const t = timeout || 10000;
        // Polled here rather than with waitForFunction, which evaluates a
        // string with eval() in the page: Cockpit's Content-Security-Policy
        // forbids that, as it should.
        const end = Date.now() + t;
        let last = null;
        for (;;) {
            try {
                const value = await (await waitFrame(frame, Math.max(1, end - Date.now()))).evaluate(expr);
                if (value)
                    return value;
                last = value;
            } catch (e) {
                last = e.message;
            }
            if (Date.now() > end)
                throw new Error(`timed out after ${t} ms waiting for ${expr} (last: ${JSON.stringify(last)})`);
            await new Promise(resolve => setTimeout(resolve, 100));
        }
    },
    async click({ selector, frame }) {
        await (await waitFrame(frame, 10000)).click(selector, { timeout: 10000 });
        return true;
    },
    async fill({ selector, text, frame }) {
        await (await waitFrame(frame, 10000)).fill(selector, text, { timeout: 10000 });
        return true;
    },
    async hover({ selector, frame }) {
        await (await waitFrame(frame, 10000)).hover(selector, { timeout: 10000, force: true });
        return true;
    },
    async select({ selector, value, frame }) {
        return await (await waitFrame(frame, 10000)).selectOption(selector, value, { timeout: 10000 });
    },
    async screenshot({ path }) {
        await page.screenshot({ path, fullPage: true });
        return path;
    },
    async console() {
        return consoleErrors;
    },
    async close() {
        if (browser)
            await browser.close();
        browser = null;
        return true;
    },
};

const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
    if (!line.trim())
        continue;
    let msg;
    try {
        msg = JSON.parse(line);
    } catch (e) {
        process.stdout.write(JSON.stringify({ id: null, ok: false, error: "bad JSON: " + e.message }) + "\n");
        continue;
    }
    const handler = commands[msg.cmd];
    let reply;
    try {
        if (!handler)
            throw new Error("unknown command " + msg.cmd);
        const value = await handler(msg);
        reply = { id: msg.id, ok: true, value: value === undefined ? null : value };
    } catch (e) {
        reply = { id: msg.id, ok: false, error: String(e && e.message ? e.message : e) };
    }
    process.stdout.write(JSON.stringify(reply) + "\n");
    if (msg.cmd === "close")
        break;
}
if (browser)
    await browser.close();
