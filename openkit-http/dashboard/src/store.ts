// The dashboard's live state: what the event stream said last, plus what this browser
// remembers (dismissed alerts). Components read it with `useStore`.

import { useEffect, useState } from 'preact/hooks';
import type { ActivityEvent, LocalConfig, OpsLogEvent, WorktreeInfo } from './api';

export type Connection = 'connecting' | 'live' | 'lost';

export interface State {
  worktrees: WorktreeInfo[] | null;
  activity: ActivityEvent[];
  ops: OpsLogEvent[];
  connection: Connection;
  /** Why the stream is down, as a sentence. */
  connectionError: string | null;
  /** When the stream was last live (ms), for "reconnecting since". */
  lostSince: number | null;
  /**
   * Per worktree, the position in the stream (a counter of what this page received)
   * where it was last seen starting or running, and where its last crash was reported.
   * A crash is current while it came after the last run: stream order, not clocks.
   */
  runOrder: Record<string, number>;
  crashOrder: Record<string, number>;
  /** Alert ids the user dismissed (kept in localStorage). */
  dismissed: string[];
  /** Activity types the config wants as browser notifications. */
  notificationEvents: string[];
  /** The project's name (from `GET /api/config`). */
  projectName: string | null;
  /** `config.local.json` (shortcuts, arrow navigation). */
  localConfig: LocalConfig | null;
  /** Per worktree, how many `hook-update` events arrived (views refetch on a change). */
  hookUpdates: Record<string, number>;
}

const KEEP = 500;
const DISMISSED_KEY = 'openkit.dismissed';

function loadDismissed(): string[] {
  try {
    const raw = localStorage.getItem(DISMISSED_KEY);
    return raw ? (JSON.parse(raw) as string[]).slice(-200) : [];
  } catch {
    return [];
  }
}

let state: State = {
  worktrees: null,
  activity: [],
  ops: [],
  connection: 'connecting',
  connectionError: null,
  lostSince: null,
  runOrder: {},
  crashOrder: {},
  dismissed: loadDismissed(),
  notificationEvents: ['agent_awaiting_input'],
  projectName: null,
  localConfig: null,
  hookUpdates: {},
};

const listeners = new Set<() => void>();

export function getState(): State {
  return state;
}

export function setState(update: Partial<State> | ((s: State) => Partial<State>)): void {
  const patch = typeof update === 'function' ? update(state) : update;
  state = { ...state, ...patch };
  for (const listener of listeners) listener();
}

/** Re-renders the component whenever the selected part of the state changes. */
export function useStore<T>(select: (s: State) => T): T {
  const [value, setValue] = useState(() => select(state));
  useEffect(() => {
    const check = () => {
      const next = select(state);
      setValue((prev) => (shallowEqual(prev, next) ? prev : next));
    };
    listeners.add(check);
    check();
    return () => {
      listeners.delete(check);
    };
    // `select` is stable in meaning: subscribing once per component is enough.
  }, []);
  return value;
}

function shallowEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || !a || !b) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.is((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Merges events by id, oldest first, keeping the newest `KEEP`. */
export function mergeById<T extends { id: string; timestamp: string }>(old: T[], incoming: T[]): T[] {
  const byId = new Map<string, T>();
  for (const e of old) byId.set(e.id, e);
  for (const e of incoming) byId.set(e.id, e);
  const all = [...byId.values()].sort((a, b) => a.timestamp.localeCompare(b.timestamp));
  return all.length > KEEP ? all.slice(all.length - KEEP) : all;
}

export function dismiss(id: string): void {
  setState((s) => {
    const dismissed = [...s.dismissed.filter((d) => d !== id), id].slice(-200);
    try {
      localStorage.setItem(DISMISSED_KEY, JSON.stringify(dismissed));
    } catch {
      // Private mode: dismissals last for this page only.
    }
    return { dismissed };
  });
}

let order = 0;

/** Positions in the stream of the worktrees seen starting or running in `list`. */
export function noteRunning(list: WorktreeInfo[]): Record<string, number> {
  const seen = { ...state.runOrder };
  for (const w of list) {
    if (w.status === 'running' || w.status === 'starting') seen[w.id] = ++order;
  }
  return seen;
}

const crashesNoted = new Set<string>();

/**
 * Positions in the stream of the dev-server crashes among `events` (oldest first), each
 * event counted once (a resync sends history again). A crash in history of a worktree
 * that runs now is already over.
 */
export function noteCrashes(events: ActivityEvent[]): Record<string, number> | null {
  let crashes: Record<string, number> | null = null;
  for (const e of events) {
    if (e.type !== 'crashed' || !e.worktreeId || crashesNoted.has(e.id)) continue;
    crashesNoted.add(e.id);
    crashes ??= { ...state.crashOrder };
    crashes[e.worktreeId] = ++order;
  }
  return crashes;
}

/** True while the last dev-server crash of `id` came after its last run. */
export function crashedNow(s: State, id: string): boolean {
  return (s.crashOrder[id] ?? 0) > (s.runOrder[id] ?? 0);
}
