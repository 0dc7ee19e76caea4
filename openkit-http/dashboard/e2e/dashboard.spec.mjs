// Browser test of the dashboard in a real headless Chromium against a running
// `openkit serve`. Run by the Rust test `openkit-cli/tests/cli/dashboard.rs`:
//
//   node e2e/dashboard.spec.mjs <server url>
//
// Protocol with the runner (stdout/stdin lines): the script prints `@@restart-server`
// when it wants the server stopped and started again on the same port, and continues
// when it reads `@@server-restarted`. Everything else on stdout is progress.
//
// Environment: OPENKIT_CHROMIUM (default /usr/bin/chromium); OPENKIT_E2E_SCREENSHOTS, a
// directory to write screenshots of the main views into (light and dark, desktop and
// 390 px).

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const base = (process.argv[2] ?? '').replace(/\/?$/, '/');
if (!/^http:\/\/(localhost|127\.0\.0\.1):\d+\/$/.test(base)) {
  console.error(`usage: node dashboard.spec.mjs http://localhost:<port>/ (got ${process.argv[2]})`);
  process.exit(2);
}
const executablePath = process.env.OPENKIT_CHROMIUM || '/usr/bin/chromium';
if (!existsSync(executablePath)) {
  console.error(
    `Chromium was not found at ${executablePath}. Install it (Debian/Ubuntu: \`apt-get install -y chromium\`) ` +
      'or point OPENKIT_CHROMIUM at a Chromium or Chrome binary.',
  );
  process.exit(3);
}
const shots = process.env.OPENKIT_E2E_SCREENSHOTS || null;

const lines = createInterface({ input: process.stdin });
const waiting = [];
lines.on('line', (line) => waiting.shift()?.(line));
const nextLine = () => new Promise((resolve) => waiting.push(resolve));

let step = 'start';
const t0 = Date.now();
function log(message) {
  console.log(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${message}`);
}
function begin(name) {
  step = name;
  log(`step: ${name}`);
}
function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function api(method, path, body) {
  const response = await fetch(new URL(path, base), {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json();
  check(response.ok, `${method} ${path} answered ${response.status}: ${JSON.stringify(json)}`);
  return json;
}

const profile = mkdtempSync(join(tmpdir(), 'openkit-e2e-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
  viewport: { width: 1280, height: 800 },
});
const page = context.pages()[0] ?? (await context.newPage());
const consoleErrors = [];
// Chromium logs every failed request as a console error; the steps that fail requests
// on purpose (a refused duplicate or branch, a stopped server, a refused commit or push)
// may do so, nothing else.
const DUPLICATE_STEP = 'creating a worktree through the dialog';
const RESTART_STEP = 'a lost connection is shown and recovers by itself';
const ISSUE_STEP = 'starting a worktree from a Jira issue through the dialog';
const SHIP_STEP = 'changes: an edit on disk is listed, its diff shown, and committed from the page';
function expectedFailure(text, url) {
  if (!text.startsWith('Failed to load resource')) return false;
  if (step === SHIP_STEP) return text.includes('400') && /\/api\/worktrees\/[^/]+\/(commit|push)$/.test(url);
  if (step === DUPLICATE_STEP) return text.includes('400') && url.endsWith('/api/worktrees');
  if (step === ISSUE_STEP) return text.includes('400') && url.endsWith('/api/jira/task');
  if (step === RESTART_STEP) return text.includes('ERR_CONNECTION_REFUSED') && url.includes('/api/');
  return false;
}
page.on('console', (m) => {
  if (m.type() !== 'error') return;
  const url = m.location().url ?? '';
  if (!expectedFailure(m.text(), url)) consoleErrors.push(`[${step}] ${m.text()} (${url})`);
});
page.on('pageerror', (e) => consoleErrors.push(`uncaught: ${e.message}`));

// Browser notifications, recorded: headless Chromium shows none.
await context.addInitScript(() => {
  window.__notifications = [];
  window.Notification = class {
    static permission = 'granted';
    static requestPermission() {
      return Promise.resolve('granted');
    }
    constructor(title, options) {
      window.__notifications.push({ title, body: options?.body ?? '' });
    }
    close() {}
  };
});
// Every request for the event stream, with the Last-Event-ID it resumed from.
const streamRequests = [];
page.on('request', (r) => {
  if (new URL(r.url()).pathname.endsWith('/api/events')) streamRequests.push(r.headers()['last-event-id'] ?? null);
});

const row = (id) => page.locator(`[data-worktree="${id}"]`);
const xtermText = () => page.locator('.xterm-rows').innerText();

/** Rows and columns the shell sees (`stty size`), typed into the open terminal. */
async function terminalSize() {
  const marker = `size-${Date.now()}`;
  await page.locator('.xterm-helper-textarea').focus();
  await page.keyboard.type(`echo ${marker} $(stty size)`);
  await page.keyboard.press('Enter');
  const pattern = new RegExp(`^${marker} (\\d+) (\\d+)`, 'm');
  await page.waitForFunction(
    (source) => new RegExp(source, 'm').test(document.querySelector('.xterm-rows')?.innerText ?? ''),
    pattern.source,
    { timeout: 10_000 },
  );
  const [, rows, cols] = (await xtermText()).match(pattern);
  return { rows: Number(rows), cols: Number(cols) };
}

async function shot(name) {
  if (!shots) return;
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(shots, `${name}.png`) });
  log(`screenshot ${name}.png`);
}

async function noHorizontalOverflow(what) {
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  check(scroll <= client, `${what}: the page is ${scroll} px wide in a ${client} px window (horizontal overflow)`);
}

try {
  begin('the page loads and shows the worktree list from the server');
  const started = Date.now();
  const response = await page.goto(base);
  check(response?.ok(), `GET / answered ${response?.status()}`);
  await row('root').waitFor({ timeout: 10_000 });
  await page.getByTestId('connection').getByText('Live').waitFor({ timeout: 10_000 });
  const paint = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    const bytes = performance.getEntriesByType('resource').reduce((n, r) => n + (r.transferSize || 0), nav?.transferSize ?? 0);
    return { domContentLoaded: Math.round(nav?.domContentLoadedEventEnd ?? 0), firstPaint: Math.round(fcp?.startTime ?? 0), bytes };
  });
  log(`page: first contentful paint ${paint.firstPaint} ms, DOMContentLoaded ${paint.domContentLoaded} ms, ${paint.bytes} bytes; list live after ${Date.now() - started} ms`);

  begin('a worktree created through the API appears live (no reload)');
  await page.evaluate(() => (window.__openkitMarker = 'same page'));
  let t = Date.now();
  await api('POST', 'api/worktrees', { branch: 'feature/live-one' });
  await row('live-one').waitFor({ timeout: 10_000 });
  log(`live-one listed ${Date.now() - t} ms after the API call`);
  await row('live-one').getByTestId('server-state').getByText('stopped').waitFor({ timeout: 10_000 });
  check((await page.evaluate(() => window.__openkitMarker)) === 'same page', 'the page reloaded');

  begin('an activity event pushed through the API shows in "Needs you" within a second');
  t = Date.now();
  await api('POST', 'api/activity', {
    category: 'agent',
    type: 'agent_awaiting_input',
    severity: 'warning',
    title: 'Agent in live-one is waiting for input',
    worktreeId: 'live-one',
  });
  await page.getByTestId('needs-you').getByText('Agent in live-one is waiting for input').waitFor({ timeout: 1_000 });
  log(`alert shown ${Date.now() - t} ms after the API call`);
  await page.waitForFunction(() => window.__notifications.some((n) => n.title.includes('live-one is waiting')), null, { timeout: 2_000 });
  log('browser notification raised for agent_awaiting_input');

  begin('a failure shows in "Needs you" until the same thing succeeds');
  const failure = { category: 'worktree', worktreeId: 'live-one', groupKey: 'checks:live-one' };
  await api('POST', 'api/activity', { ...failure, type: 'checks_failed', severity: 'error', title: 'Checks failed in live-one' });
  const failed = page.getByTestId('needs-you').locator('.alert-failed', { hasText: 'Checks failed in live-one' });
  await failed.waitFor({ timeout: 2_000 });
  await api('POST', 'api/activity', { ...failure, type: 'checks_passed', severity: 'success', title: 'Checks passed in live-one' });
  await failed.waitFor({ state: 'detached', timeout: 2_000 });

  begin('a crashing dev server shows in "Needs you" with its output');
  await api('POST', 'api/config/init', { startCommand: 'echo "dev-$((20+1))"; sleep 1; exit 3', installCommand: '' });
  await row('live-one').getByRole('button', { name: 'Start' }).click();
  const crash = page.getByTestId('needs-you').locator('.alert-crashed');
  await crash.waitFor({ timeout: 15_000 });
  await row('live-one').getByTestId('server-state').getByText('crashed').waitFor({ timeout: 5_000 });
  await crash.locator('a').click();
  await page.getByTestId('dev-logs').getByText('dev-21').waitFor({ timeout: 5_000 });
  log('crash shown, output "dev-21" in the dev-server tab');
  await page.goto(`${base}#/`);

  begin('filter and keyboard navigation');
  await page.keyboard.press('/');
  await page.keyboard.type('live');
  check((await page.locator('[data-worktree]').count()) === 1, 'the filter "live" should leave one row');
  await page.keyboard.press('Enter');
  await page.getByTestId('detail').getByRole('heading', { name: /live-one/ }).waitFor({ timeout: 5_000 });
  await page.keyboard.press('Escape');
  await page.goto(`${base}#/`);
  await page.locator('input[type=search]').fill('');

  begin(DUPLICATE_STEP);
  await page.getByRole('button', { name: 'New worktree' }).click();
  const dialog = page.locator('dialog[open]');
  await dialog.getByLabel('Branch', { exact: true }).fill('feature/live-one');
  await dialog.getByRole('button', { name: 'Create' }).click();
  await dialog.getByTestId('create-error').waitFor({ timeout: 10_000 });
  const error = await dialog.getByTestId('create-error').innerText();
  check(/already exists|exists/i.test(error), `a duplicate should be refused with the server's sentence, got: ${error}`);
  log(`duplicate refused: ${error}`);
  await dialog.getByLabel('Branch', { exact: true }).fill('feature/from-dialog');
  await dialog.getByRole('button', { name: 'Create' }).click();
  await dialog.waitFor({ state: 'detached', timeout: 15_000 });
  await page.getByTestId('detail').getByRole('heading', { name: /from-dialog/ }).waitFor({ timeout: 10_000 });
  await row('from-dialog').waitFor({ state: 'attached', timeout: 10_000 });
  const listed = await api('GET', 'api/worktrees');
  check(listed.worktrees.some((w) => w.id === 'from-dialog'), 'the server does not list from-dialog');
  await shot('desktop-light-detail');

  begin('creating a worktree from a new local task through the dialog');
  await page.goto(`${base}#/`);
  await page.getByRole('button', { name: 'New worktree' }).click();
  await dialog.getByRole('tab', { name: 'New local task' }).click();
  await dialog.getByLabel('Task title').fill('Write the changelog');
  await dialog.getByRole('button', { name: 'Create' }).click();
  await dialog.waitFor({ state: 'detached', timeout: 15_000 });
  const tasks = await api('GET', 'api/tasks');
  const task = tasks.tasks.find((t) => t.title === 'Write the changelog');
  check(task?.linkedWorktreeId, `the task was not created and linked: ${JSON.stringify(tasks)}`);
  await row(task.linkedWorktreeId).locator('.chip', { hasText: task.id }).waitFor({ timeout: 10_000 });
  log(`task ${task.id} created with worktree ${task.linkedWorktreeId}`);

  begin(ISSUE_STEP);
  await page.goto(`${base}#/`);
  await page.getByRole('button', { name: 'New worktree' }).click();
  await dialog.getByRole('tab', { name: 'From issue' }).click();
  const picker = dialog.getByTestId('issue-picker');
  await picker.getByRole('radio', { name: /PROJ-8/ }).waitFor({ timeout: 10_000 });
  check(await picker.getByLabel('Search').evaluate((el) => el === document.activeElement), 'the search box should have the focus');
  await picker.getByLabel('Search').fill('login');
  await picker.getByRole('radio', { name: /PROJ-8/ }).waitFor({ state: 'detached', timeout: 10_000 });
  const issue = picker.getByRole('radio', { name: /PROJ-7/ });
  check((await issue.textContent()) !== null, 'the search should keep PROJ-7');
  check((await picker.locator('.issue-option').innerText()).includes('To Do'), 'the issue should show its status');
  await picker.getByLabel('Search').press('ArrowDown');
  check(await issue.isChecked(), 'ArrowDown from the search should pick the first issue');
  await shot('desktop-light-issue-picker');
  const issueBranch = dialog.getByLabel(/^Branch/);
  await issueBranch.fill('bad..branch');
  await dialog.getByRole('button', { name: 'Start' }).click();
  await dialog.getByTestId('create-error').waitFor({ timeout: 10_000 });
  const issueError = await dialog.getByTestId('create-error').innerText();
  check(/Invalid branch name/.test(issueError), `a bad branch should be refused with the server's sentence, got: ${issueError}`);
  log(`a bad branch is refused inline: ${issueError}`);
  await issueBranch.fill('');
  // Back to the list with the keyboard: Enter on the picked issue starts it.
  await picker.getByLabel('Search').focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await dialog.waitFor({ state: 'detached', timeout: 20_000 });
  await page.getByTestId('detail').getByRole('heading', { name: /PROJ-7/ }).waitFor({ timeout: 10_000 });
  await row('PROJ-7').waitFor({ state: 'attached', timeout: 10_000 });
  const fromIssue = await api('GET', 'api/worktrees');
  check(fromIssue.worktrees.some((w) => w.id === 'PROJ-7'), `the server does not list PROJ-7: ${JSON.stringify(fromIssue.worktrees.map((w) => w.id))}`);
  log('worktree PROJ-7 started from the Jira issue');
  await api('DELETE', 'api/jira/credentials');
  await page.getByRole('button', { name: 'New worktree' }).click();
  await page.locator('dialog[open][data-trackers]').waitFor({ timeout: 10_000 });
  check((await dialog.getByRole('tab', { name: 'From issue' }).count()) === 0, 'with no tracker configured the "From issue" tab should be hidden');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached', timeout: 5_000 });
  log('no tracker configured: no "From issue" tab');

  begin('tasks: the list, notes and todos');
  await page.goto(`${base}#/tasks`);
  await page.getByRole('button', { name: /Write the changelog/ }).click();
  await page.getByLabel('New todo').fill('Mention the dashboard');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await page.getByText('Mention the dashboard').waitFor({ timeout: 5_000 });
  const notes = await api('GET', `api/notes/local/${task.id}`);
  check(notes.todos.some((t) => t.text === 'Mention the dashboard'), `the todo was not saved: ${JSON.stringify(notes)}`);
  await page.getByLabel('Agents push').selectOption('deny');
  await page.waitForFunction(
    async (id) => (await (await fetch(`api/notes/local/${id}`)).json()).gitPolicy.agentPushes === 'deny',
    task.id,
    { timeout: 5_000, polling: 200 },
  );
  await page.goto(`${base}#/w/from-dialog`);

  begin('a terminal opens and shows the output of echo');
  await page.getByRole('button', { name: '+ Shell' }).click();
  await page.getByTestId('term-open').waitFor({ timeout: 10_000 });
  await page.locator('.xterm-helper-textarea').focus();
  await page.keyboard.type('echo "hello-$((6*7))"');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => (document.querySelector('.xterm-rows')?.textContent ?? '').includes('hello-42'), null, { timeout: 10_000 });
  log('terminal output seen');
  // Created at 100x30; the page fits it to its pane and tells the server.
  const desktopSize = await terminalSize();
  const shownRows = await page.locator('.xterm-rows > div').count();
  check(
    desktopSize.rows === shownRows && desktopSize.cols !== 100,
    `the shell's size ${JSON.stringify(desktopSize)} is not the ${shownRows} rows shown (resize not sent?)`,
  );
  await shot('desktop-light-terminal');

  begin('after a reload the terminal is restored');
  await page.reload();
  await page.getByTestId('term-open').waitFor({ timeout: 10_000 });
  await page.waitForFunction(() => (document.querySelector('.xterm-rows')?.textContent ?? '').includes('hello-42'), null, { timeout: 10_000 });
  check((await xtermText()).includes('hello-42'), 'the restore frame did not bring the output back');

  begin('an agent waiting for input shows on its row and first in "Needs you", live');
  await page.goto(`${base}#/`);
  await page.evaluate(() => (window.__openkitMarker = 'agent page'));
  await api('POST', 'api/worktrees', { branch: 'feature/agent-asks' });
  await row('agent-asks').getByTestId('server-state').getByText('stopped').waitFor({ timeout: 15_000 });
  const agent = await api('POST', 'api/worktrees/agent-asks/terminals', { scope: 'claude', startupCommand: 'sleep 300', cols: 80, rows: 24 });
  // (Starting a session announces nothing by itself: the first report below does.)
  t = Date.now();
  await api('POST', `api/terminals/${agent.sessionId}/attention`, { event: 'waiting-for-input', message: 'May I run rm?' });
  await row('agent-asks').locator('[data-testid=agent-chip][data-state=waiting-for-input]', { hasText: 'Claude' }).waitFor({ timeout: 2_000 });
  const asking = page.getByTestId('needs-you').locator('li').first();
  await asking.filter({ hasText: 'May I run rm?' }).waitFor({ timeout: 2_000 });
  check((await asking.getAttribute('class')).includes('alert-asking'), `the first "Needs you" item is not the asking agent: ${await asking.innerText()}`);
  log(`waiting agent shown on its row and first in "Needs you" ${Date.now() - t} ms after the report`);
  check((await page.evaluate(() => window.__openkitMarker)) === 'agent page', 'the page reloaded');
  await shot('desktop-light-agent-waiting');
  await page.setViewportSize({ width: 390, height: 844 });
  await noHorizontalOverflow('390 px list with a waiting agent');
  await shot('phone-light-agent-waiting');
  await page.setViewportSize({ width: 1280, height: 800 });
  await asking.locator('a').click();
  await page.waitForFunction((id) => location.hash.endsWith(`/terminals/${id}`), agent.sessionId, { timeout: 5_000 });
  await page.getByTestId('term-open').waitFor({ timeout: 10_000 });
  const selectedTab = await page.locator('.terminals [role=tab][aria-selected=true]').innerText();
  check(selectedTab.includes('Claude'), `the agent's terminal is not the one selected: ${selectedTab}`);
  await api('POST', `api/terminals/${agent.sessionId}/attention`, { event: 'finished' });
  await page.getByTestId('needs-you').locator('.alert-asking').waitFor({ state: 'detached', timeout: 2_000 });
  await row('agent-asks').locator('[data-testid=agent-chip][data-state=idle]').waitFor({ timeout: 2_000 });
  log('"finished" cleared the alert; the chip says idle');

  begin('an agent auto-started on a new issue with autoStartClaudeFocusTerminal gets its terminal shown');
  await page.goto(`${base}#/`);
  await row('agent-asks').waitFor();
  t = Date.now();
  await api('POST', 'api/activity', {
    category: 'agent',
    type: 'auto_task_claimed',
    severity: 'info',
    title: 'Claude started working on AGENT-ASKS',
    worktreeId: 'agent-asks',
    metadata: { source: 'jira', issueId: 'AGENT-ASKS', autoClaimed: true, agent: 'claude', sessionId: agent.sessionId, focusTerminal: true },
  });
  await page.waitForFunction((id) => location.hash.endsWith(`/terminals/${id}`), agent.sessionId, { timeout: 5_000 });
  await page.getByTestId('term-open').waitFor({ timeout: 10_000 });
  log(`auto-started agent's terminal focused ${Date.now() - t} ms after the event`);

  begin(SHIP_STEP);
  const asks = (await api('GET', 'api/worktrees')).worktrees.find((w) => w.id === 'agent-asks');
  writeFileSync(join(asks.path, 'README.md'), '# test\n\nEdited by the browser test.\n');
  await page.goto(`${base}#/w/agent-asks/changes`);
  const readme = page.getByTestId('changed-files').getByRole('button', { name: /README\.md/ });
  await readme.waitFor({ timeout: 10_000 });
  check((await readme.innerText()).includes('+2'), `README.md should count two added lines: ${await readme.innerText()}`);
  await readme.click();
  const fileDiff = page.getByTestId('file-diff');
  await fileDiff.locator('.dl.add', { hasText: 'Edited by the browser test.' }).waitFor({ timeout: 5_000 });
  check((await fileDiff.locator('.dl.same', { hasText: '# test' }).count()) === 1, 'the unchanged first line is not shown as context');
  await shot('desktop-light-changes');
  await page.getByRole('button', { name: 'Push' }).click();
  const pushError = await page.getByTestId('push-error').innerText({ timeout: 10_000 });
  check(pushError.length > 10, `push without a remote should show the server's sentence, got: ${pushError}`);
  log(`push refused: ${pushError}`);
  await page.getByRole('button', { name: 'Commit', exact: true }).click();
  const emptyError = await page.getByTestId('commit-error').innerText({ timeout: 5_000 });
  log(`empty commit message refused: ${emptyError}`);
  await page.getByLabel('Commit message').fill('docs: edit the readme');
  await page.getByRole('button', { name: 'Commit', exact: true }).click();
  await page.getByTestId('commit-done').waitFor({ timeout: 10_000 });
  await page.getByTestId('no-changes').waitFor({ timeout: 10_000 });
  const after = await api('GET', 'api/worktrees/agent-asks/diff');
  check(after.files.length === 0, `the server still lists changes after the commit: ${JSON.stringify(after.files)}`);
  await page.getByLabel(/Include commits since/).check();
  await page.getByTestId('changed-files').getByRole('button', { name: /README\.md/ }).waitFor({ timeout: 5_000 });
  log(`committed from the page: ${await page.getByTestId('commit-done').innerText()}`);
  await api('DELETE', `api/terminals/${agent.sessionId}`);
  // Something to show in the 390 px view of the tab below.
  writeFileSync(join(asks.path, 'README.md'), '# test\n\nEdited by the browser test.\nAnd once more, with a much longer line that a phone cannot show whole.\n');

  begin('checks: a hook step run from the page, its result shown live');
  await api('PUT', 'api/hooks/config', { steps: [{ id: 'hello', name: 'Say hello', command: 'echo hello-from-a-check' }] });
  await page.goto(`${base}#/w/agent-asks/hooks`);
  await page.getByTestId('hooks').getByText('No checks have run in this worktree yet.').waitFor({ timeout: 10_000 });
  await page.getByRole('button', { name: 'Run checks' }).click();
  await page.getByTestId('hook-run-status').filter({ hasText: 'completed' }).waitFor({ timeout: 15_000 });
  const checkRow = await page.getByTestId('hook-step').first().innerText();
  check(checkRow.includes('Say hello') && checkRow.includes('passed'), `the step's result is not shown: ${checkRow}`);
  await page.getByTestId('hook-step').first().locator('summary').click();
  await page.getByTestId('hook-step').first().locator('.hook-output', { hasText: 'hello-from-a-check' }).waitFor({ timeout: 5_000 });
  const hookStatus = await api('GET', 'api/worktrees/agent-asks/hooks/status');
  check(hookStatus.status?.steps?.[0]?.output === 'hello-from-a-check\n', `the server's result differs: ${JSON.stringify(hookStatus)}`);
  await shot('desktop-light-checks');
  log('a check run from the page passed and its output is shown');

  begin('screenshots and 390 px layout');
  await page.goto(`${base}#/`);
  await row('root').waitFor();
  await shot('desktop-light-list');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot('desktop-dark-list');
  await page.goto(`${base}#/w/from-dialog`);
  await page.getByTestId('term-open').waitFor({ timeout: 10_000 });
  await shot('desktop-dark-terminal');
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [hash, name] of [
    ['#/', 'list'],
    ['#/w/from-dialog', 'terminal'],
    ['#/w/from-dialog/server', 'server'],
    ['#/w/agent-asks/changes', 'changes'],
    ['#/w/agent-asks/hooks', 'checks'],
    ['#/activity', 'activity'],
    ['#/perf', 'perf'],
    ['#/tasks', 'tasks'],
    ['#/settings', 'settings'],
  ]) {
    await page.goto(`${base}${hash}`);
    await page.locator('main').waitFor();
    await page.waitForTimeout(300);
    await noHorizontalOverflow(`390 px ${name}`);
    if (name === 'terminal') {
      await page.getByTestId('term-open').waitFor({ timeout: 10_000 });
      const phoneSize = await terminalSize();
      check(phoneSize.cols < 60 && phoneSize.cols < desktopSize.cols, `the terminal did not follow the 390 px window: stty says ${JSON.stringify(phoneSize)}`);
      log(`terminal resized with the window: ${desktopSize.cols}x${desktopSize.rows} -> ${phoneSize.cols}x${phoneSize.rows}`);
    }
    if (name === 'changes') {
      await page.getByTestId('changed-files').getByRole('button', { name: /README\.md/ }).click();
      await page.getByTestId('file-diff').locator('.dl.add').first().waitFor({ timeout: 5_000 });
      await noHorizontalOverflow('390 px changes with a diff open');
    }
    if (name === 'list' || name === 'terminal' || name === 'changes') await shot(`phone-dark-${name}`);
  }
  await page.emulateMedia({ colorScheme: 'light' });
  await page.goto(`${base}#/`);
  await row('root').waitFor();
  await page.getByRole('button', { name: 'New worktree' }).click();
  await noHorizontalOverflow('390 px create dialog');
  await shot('phone-light-dialog');
  await page.keyboard.press('Escape');
  await shot('phone-light-list');
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(`${base}#/activity`);
  await page.getByTestId('timeline').waitFor();
  await shot('desktop-light-activity');

  begin('settings: a config change is saved');
  await page.goto(`${base}#/settings`);
  await page.getByLabel('Browser notifications for').fill('agent_awaiting_input, crashed');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByText('Saved.').waitFor({ timeout: 5_000 });
  const saved = await api('GET', 'api/config');
  check(
    JSON.stringify(saved.config.activity.osNotificationEvents) === JSON.stringify(['agent_awaiting_input', 'crashed']),
    `the notification events were not saved: ${JSON.stringify(saved.config.activity)}`,
  );

  begin('settings: MCP servers and where they are deployed');
  await api('POST', 'api/mcp-servers', { id: 'docs-search', name: 'Docs search', command: 'docs-mcp', args: ['--stdio'], description: 'Finds docs.' });
  await api('POST', 'api/mcp-servers/docs-search/deploy', { tool: 'claude', scope: 'project' });
  await page.reload();
  const mcp = page.getByTestId('mcp-servers').locator('[data-mcp="docs-search"]');
  await mcp.getByText('docs-mcp --stdio').waitFor({ timeout: 5_000 });
  await mcp.locator('[data-agent="claude"]', { hasText: 'project' }).waitFor({ timeout: 5_000 });
  check((await mcp.locator('[data-agent="codex"]').innerText()).includes('not deployed'), 'codex should show the server as not deployed');
  log(`MCP server listed: ${(await mcp.locator('.mcp-placements').innerText()).replace(/\s+/g, ' ')}`);
  await mcp.scrollIntoViewIfNeeded();
  await shot('desktop-light-settings-mcp');

  begin('settings: remote access shows the tunnel and who is signed in');
  const remote = page.getByTestId('remote-access');
  await remote.getByTestId('tunnel-status').getByText('stopped', { exact: true }).waitFor({ timeout: 5_000 });
  await remote.getByText('Nobody is signed in remotely.').waitFor({ timeout: 5_000 });
  await remote.scrollIntoViewIfNeeded();
  await shot('desktop-light-settings-remote');

  begin('live CPU and memory charts');
  await page.goto(`${base}#/perf`);
  await page.getByTestId('perf').locator('.perf-card').first().locator('figcaption strong').filter({ hasText: '%' }).waitFor({ timeout: 10_000 });
  await page.waitForFunction(() => document.querySelectorAll('.perf-card polyline').length > 0, null, { timeout: 10_000 });
  await shot('desktop-light-perf');

  begin(RESTART_STEP);
  await page.goto(`${base}#/`);
  await page.getByTestId('connection').getByText('Live').waitFor({ timeout: 10_000 });
  await page.evaluate(() => {
    const seen = () => document.querySelector('[data-testid=connection-lost]') && (window.__openkitSawLost = true);
    new MutationObserver(seen).observe(document.body, { childList: true, subtree: true });
  });
  console.log('@@restart-server');
  const answer = await nextLine();
  check(answer === '@@server-restarted', `the runner answered ${answer}`);
  // The banner appeared while the server was down (it is gone once it recovers).
  await page.getByTestId('connection').getByText('Live').waitFor({ timeout: 20_000 });
  const sawLost = await page.evaluate(() => window.__openkitSawLost === true);
  check(sawLost, 'the page never showed the connection as lost');
  await row('from-dialog').waitFor({ timeout: 10_000 });
  const resumedFrom = streamRequests[streamRequests.length - 1];
  check(streamRequests.length >= 2 && resumedFrom, `the reconnect did not send Last-Event-ID (requests: ${JSON.stringify(streamRequests)})`);
  log(`reconnected with Last-Event-ID ${resumedFrom} after ${streamRequests.length - 1} attempts`);
  await api('POST', 'api/worktrees', { branch: 'feature/after-restart' });
  await row('after-restart').waitFor({ timeout: 10_000 });
  log('recovered, and live again');

  begin('no console errors');
  check(consoleErrors.length === 0, `console errors:\n${consoleErrors.join('\n')}`);
  log('all dashboard checks passed');
  await context.close();
  rmSync(profile, { recursive: true, force: true });
  process.exit(0);
} catch (e) {
  console.error(`FAILED at step "${step}": ${e.message}`);
  if (consoleErrors.length) console.error(`console errors so far:\n${consoleErrors.join('\n')}`);
  try {
    if (shots) await page.screenshot({ path: join(shots, 'failure.png') });
  } catch {
    // The browser may be gone.
  }
  await context.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
  process.exit(1);
}
