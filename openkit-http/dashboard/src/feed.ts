// The live connection: `GET /api/events` read as a stream (fetch, so the dashboard
// controls `Last-Event-ID`, backoff and the "connection lost" state itself). Nothing
// polls: the server pushes; after a drop the client reconnects with the id of the last
// event it saw and gets exactly what it missed (or a fresh snapshot).

import { apiPath, type FeedEvent } from './api';
import { getState, mergeById, noteCrashes, noteRunning, setState } from './store';
import { focusAutoStartedTerminal, notifyActivity } from './notify';

/** The server sends a keep-alive comment every 15 s; silence this long means a dead link. */
const SILENCE_LIMIT_MS = 40_000;
const MAX_BACKOFF_MS = 8_000;

let lastEventId: string | null = null;
let controller: AbortController | null = null;
let attempt = 0;
let retryTimer: number | undefined;
let silenceTimer: number | undefined;

/** Applies one event of the stream to the state. */
export function applyFeedEvent(event: FeedEvent, live: boolean): void {
  switch (event.type) {
    case 'worktrees':
      setState({ worktrees: event.worktrees, runOrder: noteRunning(event.worktrees) });
      break;
    case 'activity-history': {
      const running = new Set((getState().worktrees ?? []).filter((w) => w.status === 'running' || w.status === 'starting').map((w) => w.id));
      const crashes = noteCrashes(event.events.filter((e) => !running.has(e.worktreeId ?? '')));
      setState((s) => ({ activity: mergeById(s.activity, event.events), ...(crashes ? { crashOrder: crashes } : {}) }));
      break;
    }
    case 'activity': {
      const crashes = noteCrashes([event.event]);
      setState((s) => ({ activity: mergeById(s.activity, [event.event]), ...(crashes ? { crashOrder: crashes } : {}) }));
      if (live) {
        notifyActivity(event.event);
        focusAutoStartedTerminal(event.event);
      }
      break;
    }
    case 'ops-log-history':
      setState((s) => ({ ops: mergeById(s.ops, event.events) }));
      break;
    case 'ops-log':
      setState((s) => ({ ops: mergeById(s.ops, [event.event]) }));
      break;
    case 'hook-update':
      setState((s) => ({ hookUpdates: { ...s.hookUpdates, [event.worktreeId]: (s.hookUpdates[event.worktreeId] ?? 0) + 1 } }));
      break;
  }
}

function armSilenceTimer(): void {
  window.clearTimeout(silenceTimer);
  silenceTimer = window.setTimeout(() => controller?.abort(new Error('no data from the server for 40 s')), SILENCE_LIMIT_MS);
}

function lost(reason: string): void {
  window.clearTimeout(silenceTimer);
  const s = getState();
  setState({
    connection: 'lost',
    connectionError: reason,
    lostSince: s.connection === 'lost' && s.lostSince ? s.lostSince : Date.now(),
  });
  const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempt) * (0.75 + Math.random() * 0.5);
  attempt += 1;
  window.clearTimeout(retryTimer);
  retryTimer = window.setTimeout(connect, delay);
}

/** Parses SSE frames out of `buffer`; returns what is left (an unfinished frame). */
function drain(buffer: string): string {
  for (;;) {
    const end = buffer.search(/\r?\n\r?\n/);
    if (end < 0) return buffer;
    const frame = buffer.slice(0, end);
    buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
    let data = '';
    let id: string | null = null;
    for (const line of frame.split(/\r?\n/)) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') data += (data ? '\n' : '') + value;
      else if (field === 'id') id = value;
    }
    if (id !== null) lastEventId = id;
    if (data) {
      try {
        applyFeedEvent(JSON.parse(data) as FeedEvent, true);
      } catch (e) {
        console.warn('OpenKit: unreadable event', e);
      }
    }
  }
}

/** Opens the stream (again); called once at start and after every drop. */
export async function connect(): Promise<void> {
  window.clearTimeout(retryTimer);
  controller?.abort(new Error('reconnecting'));
  const mine = new AbortController();
  controller = mine;
  if (getState().connection !== 'lost') setState({ connection: 'connecting' });
  const headers: Record<string, string> = { Accept: 'text/event-stream' };
  if (lastEventId) headers['Last-Event-ID'] = lastEventId;
  try {
    const response = await fetch(apiPath('api/events'), { headers, signal: mine.signal, cache: 'no-store' });
    if (!response.ok || !response.body) {
      let message = `The event stream answered ${response.status} ${response.statusText}.`;
      try {
        const body = (await response.json()) as { error?: string };
        if (body.error) message = body.error;
      } catch {
        // Not the envelope: keep the status line.
      }
      throw new Error(message);
    }
    attempt = 0;
    setState({ connection: 'live', connectionError: null, lostSince: null });
    armSilenceTimer();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      armSilenceTimer();
      buffer = drain(buffer + value);
    }
    throw new Error('The server closed the event stream.');
  } catch (e) {
    if (controller !== mine) return; // Replaced by a newer connection.
    const reason = mine.signal.aborted ? String(mine.signal.reason?.message ?? 'aborted') : (e as Error).message;
    lost(/fetch|network/i.test(reason) ? 'The OpenKit server cannot be reached.' : reason);
  }
}

/** Starts the live connection; it reconnects by itself, sooner when the network returns. */
export function startFeed(): void {
  window.addEventListener('online', () => {
    if (getState().connection === 'lost') {
      attempt = 0;
      void connect();
    }
  });
  void connect();
}
