// "Needs you": what a person must look at, derived from the live state. A signal is shown
// only while it is still true (a later event or state clears it): no signal beats a
// false one. An agent session's live state (`agentSessions` of the worktree list) beats
// what the activity feed said: a worktree with sessions gets its "waiting" from them.

import type { ActivityEvent } from './api';
import { crashedNow, type State } from './store';

export type AlertKind = 'asking' | 'waiting' | 'crashed' | 'failed';

export interface Alert {
  /** The activity event behind it (what a dismissal remembers). */
  id: string;
  kind: AlertKind;
  title: string;
  detail: string | null;
  worktreeId: string | null;
  timestamp: string;
  /** The agent session that asks (for `asking`): its terminal opens on click. */
  sessionId?: string;
}

const FAILED_WINDOW_MS = 24 * 3600_000;
const ORDER: Record<AlertKind, number> = { asking: 0, waiting: 1, crashed: 2, failed: 3 };

function alertOf(kind: AlertKind, e: ActivityEvent): Alert {
  return { id: e.id, kind, title: e.title, detail: e.detail ?? null, worktreeId: e.worktreeId ?? null, timestamp: e.timestamp };
}

export function alerts(s: State, now = Date.now()): Alert[] {
  const worktrees = new Map((s.worktrees ?? []).map((w) => [w.id, w]));
  const exists = (id: string | null | undefined) => !id || worktrees.has(id);
  const out: Alert[] = [];
  const settled = new Set<string>();
  for (const w of s.worktrees ?? []) {
    if (!w.agentSessions?.length) continue;
    // The live state decides for this worktree; the activity feed's "waiting" is older news.
    settled.add(`agent:${w.id}`);
    for (const a of w.agentSessions) {
      if (a.state !== 'waiting-for-input') continue;
      out.push({
        // A new wait (a new `since`) is a new alert, even after a dismissal of the last one.
        id: `session:${a.sessionId}:${a.since}`,
        kind: 'asking',
        title: `${agentLabel(a.agent)} in ${w.id} is waiting for you`,
        detail: a.message ?? null,
        worktreeId: w.id,
        timestamp: a.since,
        sessionId: a.sessionId,
      });
    }
  }
  // Newest first: the first event of a kind per worktree decides.
  for (let i = s.activity.length - 1; i >= 0; i--) {
    const e = s.activity[i];
    const wt = e.worktreeId ?? '';
    if (e.category === 'agent') {
      const key = `agent:${wt}`;
      if (!settled.has(key)) {
        settled.add(key);
        if (e.type === 'agent_awaiting_input' && exists(e.worktreeId)) out.push(alertOf('waiting', e));
      }
      continue;
    }
    if (e.type === 'crashed') {
      const key = `crash:${wt}`;
      if (settled.has(key)) continue;
      settled.add(key);
      const w = worktrees.get(wt);
      if (w && w.status !== 'running' && w.status !== 'starting' && crashedNow(s, wt)) out.push(alertOf('crashed', e));
      continue;
    }
    // Any other failure stays until something of the same area succeeds after it.
    const key = `${e.category}:${wt}:${e.groupKey ?? ''}`;
    if (settled.has(key)) continue;
    if (e.severity === 'success') {
      settled.add(key);
    } else if (e.severity === 'error') {
      settled.add(key);
      if (now - Date.parse(e.timestamp) < FAILED_WINDOW_MS) out.push(alertOf('failed', e));
    }
  }
  const dismissed = new Set(s.dismissed);
  return out
    .filter((a) => !dismissed.has(a.id))
    .sort((a, b) => ORDER[a.kind] - ORDER[b.kind] || b.timestamp.localeCompare(a.timestamp));
}

const AGENT_LABELS: Record<string, string> = { claude: 'Claude', codex: 'Codex', gemini: 'Gemini', opencode: 'OpenCode' };

/** An agent's name as people say it (`claude` → `Claude`). */
export function agentLabel(agent: string): string {
  return AGENT_LABELS[agent] ?? agent;
}
