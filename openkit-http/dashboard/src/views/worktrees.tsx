// Who is doing what: one dense row per worktree, filterable and keyboard-driven, with
// the selected worktree's detail beside it (below it on narrow screens).

import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { post, safeUrl, seg, type AgentSession, type WorktreeInfo } from '../api';
import { useAction } from '../action';
import { agentLabel, alerts } from '../alerts';
import { ago } from '../format';
import { go, href, type Route } from '../route';
import { crashedNow, useStore } from '../store';
import { CreateWorktreeDialog } from './create';
import { WorktreeDetail } from './detail';

/** The dev server's state as people say it, crash included. */
export function serverState(w: WorktreeInfo, crashed: boolean): { label: string; tone: string } {
  if (w.status === 'creating') return { label: 'creating', tone: 'info' };
  if (w.status === 'starting') return { label: 'starting', tone: 'warning' };
  if (w.status === 'running') return { label: 'running', tone: 'success' };
  if (crashed) return { label: 'crashed', tone: 'error' };
  return { label: 'stopped', tone: 'muted' };
}

/** The linked issue (any tracker) and the PR, as links. */
export function IssueLinks({ w }: { w: WorktreeInfo }) {
  const id = w.issueId ?? w.localIssueId;
  const status = w.issueStatus ?? w.localIssueStatus ?? w.jiraStatus ?? w.linearStatus;
  const url = safeUrl(w.issueUrl ?? w.jiraUrl ?? w.linearUrl);
  const pr = safeUrl(w.githubPrUrl);
  return (
    <>
      {id &&
        (url ? (
          <a class="chip" href={url} target="_blank" rel="noreferrer" title={status ?? undefined} onClick={(e) => e.stopPropagation()}>
            {id}
          </a>
        ) : (
          <a class="chip" href="#/tasks" title={status ?? undefined} onClick={(e) => e.stopPropagation()}>
            {id}
            {status ? ` · ${status}` : ''}
          </a>
        ))}
      {pr && (
        <a class="chip" href={pr} target="_blank" rel="noreferrer" onClick={(e) => e.stopPropagation()}>
          PR{w.githubPrState ? ` · ${w.githubPrState}` : ''}
        </a>
      )}
    </>
  );
}

export function GitBadges({ w }: { w: WorktreeInfo }) {
  return (
    <span class="git" aria-label="git status">
      {w.hasUncommitted && (
        <span class="badge tone-warning" title="Uncommitted changes">
          dirty
        </span>
      )}
      {w.commitsAhead > 0 && (
        <span class="badge" title="Commits ahead of upstream">
          ↑{w.commitsAhead}
        </span>
      )}
      {w.hasUnpushed && w.commitsAhead === 0 && !w.isRoot && (w.commitsAheadOfBase ?? 0) > 0 && (
        <span class="badge muted" title="Commits that are on no remote yet (no upstream branch)">
          not pushed
        </span>
      )}
      {w.commitsAheadOfBase != null && w.commitsAheadOfBase > 0 && (
        <span class="badge" title="Commits not in the base branch">
          +{w.commitsAheadOfBase} vs base
        </span>
      )}
      {!w.hasUncommitted && !w.commitsAhead && !w.commitsAheadOfBase && <span class="muted">clean</span>}
    </span>
  );
}

const STATE_LABEL: Record<AgentSession['state'], { label: string; tone: string }> = {
  starting: { label: 'starting', tone: 'info' },
  working: { label: 'working', tone: 'success' },
  'waiting-for-input': { label: 'waiting for you', tone: 'warning' },
  idle: { label: 'idle', tone: 'muted' },
  exited: { label: 'exited', tone: 'muted' },
};

/** One chip per agent session (agent + state); a waiting one links to its terminal. */
export function AgentChips({ w }: { w: WorktreeInfo }) {
  const sessions = w.agentSessions ?? [];
  if (sessions.length === 0) return null;
  return (
    <span class="agents" aria-label="Agent sessions">
      {sessions.map((a) => {
        const { label, tone } = STATE_LABEL[a.state] ?? { label: a.state, tone: 'muted' };
        const waiting = a.state === 'waiting-for-input';
        const text = `${agentLabel(a.agent)} · ${label}${a.state === 'exited' && a.exitCode != null ? ` (${a.exitCode})` : ''}`;
        const title = `${agentLabel(a.agent)} ${label} since ${a.since} (from its ${a.source})${a.message ? `: ${a.message}` : ''}`;
        return waiting ? (
          <a
            key={a.sessionId}
            class={`badge agent-chip tone-${tone} asking`}
            data-testid="agent-chip"
            data-state={a.state}
            title={title}
            href={href({ view: 'worktrees', id: w.id, tab: 'terminals', session: a.sessionId })}
            onClick={(e) => e.stopPropagation()}
          >
            {text}
          </a>
        ) : (
          <span key={a.sessionId} class={`badge agent-chip tone-${tone}`} data-testid="agent-chip" data-state={a.state} title={title}>
            {text}
          </span>
        );
      })}
    </span>
  );
}

/** Ports as links to the dev server, on the host the page was opened with. */
export function Ports({ ports }: { ports: number[] }) {
  if (ports.length === 0) return null;
  return (
    <span class="ports">
      {ports.map((p) => (
        <a key={p} href={`${location.protocol}//${location.hostname}:${p}/`} target="_blank" rel="noreferrer" onClick={(e) => e.stopPropagation()}>
          :{p}
        </a>
      ))}
    </span>
  );
}

/** Worktree ids whose last dev-server crash came after their last run. */
export function useCrashed(): Set<string> {
  const ids = useStore((s) =>
    Object.keys(s.crashOrder)
      .filter((id) => crashedNow(s, id))
      .sort()
      .join('\n'),
  );
  return useMemo(() => new Set(ids.split('\n').filter(Boolean)), [ids]);
}

function matchesFilter(w: WorktreeInfo, filter: string): boolean {
  if (!filter) return true;
  const hay = [w.id, w.branch, w.status, w.issueId, w.localIssueId, w.issueStatus, ...w.ports.map(String)].join(' ').toLowerCase();
  return filter
    .toLowerCase()
    .split(/\s+/)
    .every((word) => hay.includes(word));
}

function RowActions({ w }: { w: WorktreeInfo }) {
  const action = useAction();
  if (w.isRoot || w.status === 'creating') return <span class="row-actions" />;
  const running = w.status === 'running' || w.status === 'starting';
  return (
    <span class="row-actions">
      <button
        type="button"
        class="small"
        disabled={action.busy}
        onClick={(e) => {
          e.stopPropagation();
          void action.run(() => post(`api/worktrees/${seg(w.id)}/${running ? 'stop' : 'start'}`));
        }}
      >
        {running ? 'Stop' : 'Start'}
      </button>
      {action.error && (
        <span class="error-text" role="alert">
          {action.error}
        </span>
      )}
    </span>
  );
}

interface RowProps {
  w: WorktreeInfo;
  cursor: boolean;
  open: boolean;
  crashed: boolean;
  waiting: boolean;
  /** Latest of the dev server's last change and the worktree's last activity event. */
  lastActivity: string | null;
  onOpen: () => void;
}

function Row({ w, cursor, open, crashed, waiting, lastActivity, onOpen }: RowProps) {
  const state = serverState(w, crashed);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (cursor) ref.current?.scrollIntoView({ block: 'nearest' });
  }, [cursor]);
  return (
    <div
      ref={ref}
      role="option"
      aria-selected={open}
      class={`row${cursor ? ' cursor' : ''}${open ? ' open' : ''}`}
      data-worktree={w.id}
      onClick={onOpen}
    >
      <span class="row-main">
        <span class={`dot tone-${state.tone}`} aria-hidden="true" />
        <strong class="wt-id">{w.id}</strong>
        <span class="branch" title={w.branch}>
          {w.branch || '(detached)'}
        </span>
        <IssueLinks w={w} />
        <AgentChips w={w} />
        {waiting && (
          <span class="badge tone-warning" title="An agent in this worktree waits for input">
            agent waiting
          </span>
        )}
      </span>
      <span class="row-server">
        <span class={`badge tone-${state.tone}`} data-testid="server-state">
          {state.label}
        </span>
        <Ports ports={w.ports} />
      </span>
      <span class="row-meta">
        <GitBadges w={w} />
        {lastActivity && (
          <span class="muted when" title={`Last activity: ${lastActivity}`}>
            {ago(lastActivity)}
          </span>
        )}
      </span>
      <RowActions w={w} />
    </div>
  );
}

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return !!el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable || !!el.closest('.xterm'));
}

export function WorktreesView({ route }: { route: Extract<Route, { view: 'worktrees' }> }) {
  const worktrees = useStore((s) => s.worktrees);
  const arrowNav = useStore((s) => s.localConfig?.arrowNavEnabled ?? true);
  const crashed = useCrashed();
  const waiting = useStore((s) =>
    alerts(s)
      .filter((a) => a.kind === 'waiting' && a.worktreeId)
      .map((a) => a.worktreeId)
      .join('\n'),
  );
  const activity = useStore((s) => s.activity);
  const lastEvent = useMemo(() => {
    const last = new Map<string, string>();
    for (const e of activity) if (e.worktreeId) last.set(e.worktreeId, e.timestamp);
    return last;
  }, [activity]);
  const [filter, setFilter] = useState('');
  const [cursor, setCursor] = useState(0);
  const [creating, setCreating] = useState(false);
  const [, tick] = useState(0);
  const filterRef = useRef<HTMLInputElement>(null);
  const shown = useMemo(() => (worktrees ?? []).filter((w) => matchesFilter(w, filter)), [worktrees, filter]);
  const open = route.id;

  // "3 min ago" stays true without asking the server anything.
  useEffect(() => {
    const t = window.setInterval(() => tick((n) => n + 1), 30_000);
    return () => window.clearInterval(t);
  }, []);

  useEffect(() => {
    if (cursor >= shown.length) setCursor(Math.max(0, shown.length - 1));
  }, [shown.length, cursor]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.metaKey || e.ctrlKey || e.altKey || creating) return;
      if (e.key === '/' && !isTyping(e.target)) {
        e.preventDefault();
        filterRef.current?.focus();
        return;
      }
      if (e.key === 'Escape') {
        if (document.activeElement === filterRef.current) {
          setFilter('');
          filterRef.current?.blur();
        } else if (open && !isTyping(e.target)) {
          go({ view: 'worktrees', tab: 'terminals' });
        }
        return;
      }
      const inFilter = document.activeElement === filterRef.current;
      if (isTyping(e.target) && !inFilter) return;
      // Enter on a focused button or link is that control's.
      if (e.key === 'Enter' && (e.target as HTMLElement | null)?.closest?.('button, a, summary')) return;
      const down = e.key === 'j' || (arrowNav && e.key === 'ArrowDown');
      const up = e.key === 'k' || (arrowNav && e.key === 'ArrowUp');
      if (inFilter && (e.key === 'j' || e.key === 'k')) return;
      if (down || up) {
        e.preventDefault();
        setCursor((c) => Math.min(Math.max(0, c + (down ? 1 : -1)), Math.max(0, shown.length - 1)));
      } else if (e.key === 'Enter' && shown[cursor]) {
        e.preventDefault();
        go({ view: 'worktrees', id: shown[cursor].id, tab: route.tab });
      } else if (e.key === 'n' && !inFilter) {
        e.preventDefault();
        setCreating(true);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [shown, cursor, open, creating, arrowNav, route.tab]);

  const selected = open ? worktrees?.find((w) => w.id === open) : undefined;

  return (
    <div class={`wt-layout${open ? ' has-detail' : ''}`}>
      <section class="wt-list-pane" aria-label="Worktrees">
        <div class="toolbar">
          <input
            ref={filterRef}
            type="search"
            placeholder="Filter worktrees  ( / )"
            aria-label="Filter worktrees"
            value={filter}
            onInput={(e) => {
              setFilter((e.target as HTMLInputElement).value);
              setCursor(0);
            }}
          />
          <span class="muted count">
            {worktrees ? `${shown.length}${shown.length !== worktrees.length ? ` of ${worktrees.length}` : ''}` : ''}
          </span>
          <button type="button" class="primary" onClick={() => setCreating(true)} title="New worktree (n)">
            New worktree
          </button>
        </div>
        {worktrees === null ? (
          <p class="muted pad">Waiting for the server's worktree list…</p>
        ) : shown.length === 0 ? (
          <p class="muted pad">{filter ? `No worktree matches “${filter}”.` : 'No worktrees yet.'}</p>
        ) : (
          <div class="rows" role="listbox" aria-label="Worktree list" data-testid="worktree-list">
            {shown.map((w, i) => (
              <Row
                key={w.id}
                w={w}
                cursor={i === cursor}
                open={w.id === open}
                crashed={crashed.has(w.id)}
                waiting={waiting.split('\n').includes(w.id)}
                lastActivity={[w.lastActivity, lastEvent.get(w.id)].filter((t): t is string => !!t).sort().pop() ?? null}
                onOpen={() => {
                  setCursor(i);
                  go({ view: 'worktrees', id: w.id, tab: route.tab });
                }}
              />
            ))}
          </div>
        )}
        <p class="hint muted">
          <kbd>j</kbd>/<kbd>k</kbd> move · <kbd>Enter</kbd> open · <kbd>/</kbd> filter · <kbd>n</kbd> new · <kbd>Esc</kbd> close
        </p>
      </section>
      {open && (
        <WorktreeDetail
          key={open}
          id={open}
          worktree={selected}
          known={worktrees !== null}
          tab={route.tab}
          session={route.session}
          crashed={selected ? crashed.has(selected.id) : false}
        />
      )}
      {creating && (
        <CreateWorktreeDialog
          onClose={(id) => {
            setCreating(false);
            if (id) go({ view: 'worktrees', id, tab: 'terminals' });
          }}
        />
      )}
    </div>
  );
}
