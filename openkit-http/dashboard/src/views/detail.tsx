// One worktree: what it is, what can be done with it, its terminals, its dev server and
// its activity.

import { useEffect, useState } from 'preact/hooks';
import { del, get, patch, post, seg, type WorktreeInfo } from '../api';
import { useAction } from '../action';
import { ago } from '../format';
import { go, href, type DetailTab } from '../route';
import { useStore } from '../store';
import { ActivityList } from './activity';
import { AgentChips, GitBadges, IssueLinks, Ports, serverState } from './worktrees';
import { Changes } from './changes';
import { Hooks } from './hooks';

/** The terminals, loaded on first use: xterm.js is most of the page's weight. */
function LazyTerminals({ w, focus }: { w: WorktreeInfo; focus?: string }) {
  const [mod, setMod] = useState<typeof import('./terminals') | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    import('./terminals').then(setMod, (e: Error) => setError(e.message));
  }, []);
  if (error)
    return (
      <p class="error-text" role="alert">
        Could not load the terminal code: {error}. Reload the page to try again.
      </p>
    );
  if (!mod) return <p class="muted pad">Loading the terminal…</p>;
  return <mod.Terminals w={w} focus={focus} />;
}

function DevServerButton({ w }: { w: WorktreeInfo }) {
  const action = useAction();
  const running = w.status === 'running' || w.status === 'starting';
  return (
    <>
      <button
        type="button"
        class={running ? '' : 'primary'}
        disabled={action.busy || w.status === 'creating'}
        onClick={() => void action.run(() => post(`api/worktrees/${seg(w.id)}/${running ? 'stop' : 'start'}`))}
      >
        {running ? 'Stop dev server' : 'Start dev server'}
      </button>
      {action.error && (
        <p class="error-text" role="alert">
          Could not {running ? 'stop' : 'start'} the dev server: {action.error}
        </p>
      )}
    </>
  );
}

function RenameForm({ w, onDone }: { w: WorktreeInfo; onDone: () => void }) {
  const [name, setName] = useState(w.id);
  const [branch, setBranch] = useState(w.branch);
  const action = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    const body: Record<string, string> = {};
    if (name.trim() && name.trim() !== w.id) body.name = name.trim();
    if (branch.trim() && branch.trim() !== w.branch) body.branch = branch.trim();
    if (Object.keys(body).length === 0) return onDone();
    const r = await action.run(() => patch<{ worktree?: WorktreeInfo }>(`api/worktrees/${seg(w.id)}`, body));
    if (r) {
      onDone();
      const id = r.worktree?.id ?? body.name ?? w.id;
      if (id !== w.id) go({ view: 'worktrees', id, tab: 'terminals' });
    }
  };
  return (
    <form class="inline-form" onSubmit={submit} aria-label="Rename worktree">
      <label>
        Id
        <input value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      </label>
      <label>
        Branch
        <input value={branch} onInput={(e) => setBranch((e.target as HTMLInputElement).value)} />
      </label>
      <div class="buttons">
        <button type="button" onClick={onDone}>
          Cancel
        </button>
        <button type="submit" class="primary" disabled={action.busy}>
          Rename
        </button>
      </div>
      {action.error && (
        <p class="error-text" role="alert">
          Could not rename: {action.error}
        </p>
      )}
    </form>
  );
}

function DangerZone({ w }: { w: WorktreeInfo }) {
  const [confirming, setConfirming] = useState(false);
  const action = useAction();
  const recover = useAction();
  return (
    <div class="danger">
      {confirming ? (
        <>
          <span>Delete {w.id}? Its terminals and dev server stop; the branch is kept.</span>
          <button
            type="button"
            class="danger-button"
            disabled={action.busy}
            onClick={async () => {
              const r = await action.run(() => del(`api/worktrees/${seg(w.id)}`));
              if (r) go({ view: 'worktrees', tab: 'terminals' });
            }}
          >
            {action.busy ? 'Deleting…' : 'Yes, delete'}
          </button>
          <button type="button" onClick={() => setConfirming(false)}>
            Keep it
          </button>
        </>
      ) : (
        <>
          <button type="button" class="danger-button" onClick={() => setConfirming(true)}>
            Delete…
          </button>
          <button type="button" disabled={recover.busy} onClick={() => void recover.run(() => post(`api/worktrees/${seg(w.id)}/recover`, { action: 'reuse' }))}>
            Recover
          </button>
        </>
      )}
      {action.error && (
        <p class="error-text" role="alert">
          Could not delete: {action.error}
        </p>
      )}
      {recover.error && (
        <p class="error-text" role="alert">
          Could not recover: {recover.error}
        </p>
      )}
    </div>
  );
}

function DevServerLogs({ w, crashed }: { w: WorktreeInfo; crashed: boolean }) {
  const [logs, setLogs] = useState<string[] | null>(null);
  const action = useAction();
  const load = action.run;
  // The list event carries `lastActivity`, which moves with new output: refetch then.
  useEffect(() => {
    void load(async () => setLogs((await get<{ logs: string[] }>(`api/worktrees/${seg(w.id)}/logs`)).logs));
  }, [w.id, w.lastActivity, w.status, load]);
  const crash = useStore((s) => [...s.activity].reverse().find((e) => e.type === 'crashed' && e.worktreeId === w.id));
  return (
    <div class="server-pane">
      <div class="toolbar">
        <DevServerButton w={w} />
        <Ports ports={w.ports} />
        {w.pid && <span class="muted">pid {w.pid}</span>}
      </div>
      {crashed && crash && (
        <div class="banner banner-error" role="alert">
          {crash.title} ({ago(crash.timestamp)}).
        </div>
      )}
      {action.error && (
        <p class="error-text" role="alert">
          Could not load the dev-server output: {action.error}
        </p>
      )}
      <pre class="logs" data-testid="dev-logs" aria-label="Dev-server output">
        {logs === null ? 'Loading…' : logs.length === 0 ? 'No output yet: start the dev server to see it here.' : logs.join('\n')}
      </pre>
    </div>
  );
}

export function WorktreeDetail({
  id,
  worktree,
  known,
  tab,
  session,
  crashed,
}: {
  id: string;
  worktree?: WorktreeInfo;
  known: boolean;
  tab: DetailTab;
  /** The terminal session to select. */
  session?: string;
  crashed: boolean;
}) {
  const [renaming, setRenaming] = useState(false);
  if (!worktree) {
    return (
      <section class="detail" aria-label="Worktree">
        <p class="muted pad">{known ? `There is no worktree “${id}” (any more).` : 'Loading…'}</p>
        <a href="#/">Back to the list</a>
      </section>
    );
  }
  const w = worktree;
  const state = serverState(w, crashed);
  const tabLink = (t: DetailTab, label: string) => (
    <a role="tab" class={tab === t ? 'tab active' : 'tab'} aria-selected={tab === t} href={href({ view: 'worktrees', id: w.id, tab: t })}>
      {label}
    </a>
  );
  return (
    <section class="detail" aria-label={`Worktree ${w.id}`} data-testid="detail">
      <header class="detail-head">
        <a class="close" href="#/" aria-label="Close">
          ×
        </a>
        <h2>
          {w.id} <span class={`badge tone-${state.tone}`}>{state.label}</span>
        </h2>
        <div class="meta">
          <span class="branch">{w.branch || '(detached)'}</span>
          <IssueLinks w={w} />
          <AgentChips w={w} />
          <GitBadges w={w} />
          {w.lastActivity && <span class="muted">dev server active {ago(w.lastActivity)}</span>}
        </div>
        <div class="muted path" title={w.path}>
          {w.path}
        </div>
        {!w.isRoot && w.status !== 'creating' && (
          <div class="actions">
            <DevServerButton w={w} />
            <button type="button" onClick={() => setRenaming(!renaming)}>
              Rename…
            </button>
            <DangerZone w={w} />
          </div>
        )}
        {w.isRoot && (
          <div class="actions">
            <DevServerButton w={w} />
          </div>
        )}
        {renaming && <RenameForm w={w} onDone={() => setRenaming(false)} />}
      </header>
      <nav class="tabs" role="tablist">
        {tabLink('terminals', 'Terminals')}
        {tabLink('changes', 'Changes')}
        {tabLink('hooks', 'Checks')}
        {tabLink('server', 'Dev server')}
        {tabLink('activity', 'Activity')}
      </nav>
      {tab === 'terminals' && (w.status === 'creating' ? <p class="muted pad">Terminals open once the worktree is created.</p> : <LazyTerminals w={w} focus={session} />)}
      {tab === 'changes' && <Changes w={w} />}
      {tab === 'hooks' && <Hooks w={w} />}
      {tab === 'server' && <DevServerLogs w={w} crashed={crashed} />}
      {tab === 'activity' && <ActivityList worktreeId={w.id} />}
    </section>
  );
}
