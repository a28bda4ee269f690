// The teaching page in a real browser (headless Chromium, driven by playwright-core):
//  - the page loads from file:// with no console error;
//  - the typical patient's CD4 nadir on the page equals `lymphosim patient`'s for the same inputs;
//  - moving the switch-interval slider changes the displayed risk;
//  - every lesson runs; screenshots of the first load and of each lesson go to web/test/artifacts/.
//
// Run by web/test/run.sh (which builds nothing: run web/build.sh and `cargo build --release` first).
import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const artifacts = resolve(here, "artifacts");
mkdirSync(artifacts, { recursive: true });
const bin = process.env.LYMPHOSIM_BIN || resolve(root, "target/release/lymphosim");
const page_url = pathToFileURL(resolve(root, "web/dist/index.html")).href;

let failures = 0;
function check(ok, what) {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures += 1;
}

// The reference: the command line's typical patient with the page's default inputs (sequence, 12 months, 70 kg,
// the shipped set's typical age, 10 years); the lowest CD4 of its daily CSV bounds the nadir from above.
const csvPath = resolve(artifacts, "patient-sequence-12m.csv");
const cliOut = execFileSync(bin, ["patient", "--preset", "sequence", "--interval-months", "12", "--weight", "70",
  "--no-plots", "--out", csvPath], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
// "  CD4   nadir     45.8 cells/uL on day    368"
const [, cliNadirText, cliNadirDay] = cliOut.match(/CD4\s+nadir\s+([0-9.]+) cells\/uL on day\s+([0-9]+)/);
const rows = readFileSync(csvPath, "utf8").trim().split("\n");
const cd4Col = rows[0].split(",").indexOf("CD4");
const cliNadir = Math.min(...rows.slice(1).map((r) => Number(r.split(",")[cd4Col])));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1900 } });
  const errors = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e)));

  const t0 = Date.now();
  await page.goto(page_url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60000 });
  await page.waitForFunction(() => Number(document.body.dataset.cohortRuns || 0) >= 1, null, { timeout: 60000 });
  console.log(`page ready with its first cohort in ${Date.now() - t0} ms`);
  await page.screenshot({ path: resolve(artifacts, "first-load.png"), fullPage: true });

  // Both read the nadir from the continuous solution: the page's value rounds to the one the command line
  // printed, and lies at or below the lowest daily sample of its CSV (6 decimals), within 0.5 % of it.
  const pageNadir = Number(await page.getAttribute("#cd4-nadir", "data-value"));
  check(Math.abs(pageNadir - Number(cliNadirText)) <= 0.05 + 1e-9,
    `CD4 nadir on the page ${pageNadir} rounds to lymphosim patient's ${cliNadirText}`);
  check(pageNadir <= cliNadir + 5e-7 && pageNadir >= cliNadir * 0.995,
    `CD4 nadir on the page ${pageNadir} is at or just below the CSV's lowest daily CD4 ${cliNadir}`);
  const shown = await page.textContent("#cd4-nadir");
  check(shown === `${cliNadirText} cells/µL (day ${cliNadirDay})`,
    `the page shows "${shown}"; lymphosim patient printed ${cliNadirText} cells/uL on day ${cliNadirDay}`);

  const runs = async () => Number(await page.evaluate(() => document.body.dataset.cohortRuns));
  const risk = async () => [await page.textContent("#p-grade3"), await page.getAttribute("#p-grade3", "data-value")];
  const before = await risk();
  const n = await runs();
  await page.locator("#interval").fill("36");
  await page.waitForFunction((k) => Number(document.body.dataset.cohortRuns) > k, n, { timeout: 60000 });
  const after = await risk();
  console.log(`P(grade >= 3): at 12 months ${before[0]}; at 36 months ${after[0]}`);
  check(before[1] !== "" && after[1] !== "" && before[1] !== after[1],
    "moving the switch-interval slider changes the displayed risk");
  const status = await page.textContent("#status");
  console.log(`status: ${status}`);

  for (let i = 0; i < 4; i++) {
    const k = await runs();
    await page.click(`#lesson-buttons button[data-lesson="${i}"]`);
    await page.waitForFunction((k) => Number(document.body.dataset.cohortRuns) > k, k, { timeout: 60000 });
    const title = await page.textContent("#lesson-title");
    check(title.startsWith(`${i + 1}.`), `lesson ${i + 1} shown: ${title}`);
    await page.screenshot({ path: resolve(artifacts, `lesson-${i + 1}.png`), fullPage: true });
  }

  check(errors.length === 0, `no console errors${errors.length ? ": " + errors.join(" | ") : ""}`);
} finally {
  await browser.close();
}
console.log(`screenshots in ${artifacts}`);
process.exit(failures ? 1 : 0);
