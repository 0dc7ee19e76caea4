// A worktree's terminals: its live sessions as tabs, a new shell or an agent in one
// click, and the selected session attached over the WebSocket in xterm.js.
//
// Protocol (`GET /api/terminals/:id/ws`): the server sends a `restore` text frame (the
// screen plus recent output), then output as binary frames, and an `exit` text frame
// before closing; input goes up as binary frames, resizes as a JSON text frame. A newer
// socket for a session replaces the older one; an unknown session closes with 1008.

import { FitAddon } from '@xterm/addon-fit';
import { Terminal, type ITheme } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useRef, useState } from 'preact/hooks';
import { apiUrl, del, get, post, seg, type WorktreeInfo } from '../api';
import { useAction } from '../action';
import { getState } from '../store';
import { agentLabel } from '../alerts';

type Scope = 'terminal' | 'claude' | 'codex' | 'gemini' | 'opencode';

interface Session {
  id: string;
  label: string;
  scope: Scope | null;
}

const AGENTS: { scope: Exclude<Scope, 'terminal'>; label: string; command: (prompt: string | null) => string }[] = [
  { scope: 'claude', label: 'Claude', command: (p) => (p ? `exec claude ${quote(p)}` : 'exec claude') },
  { scope: 'codex', label: 'Codex', command: (p) => (p ? `exec codex ${quote(p)}` : 'exec codex') },
  { scope: 'gemini', label: 'Gemini', command: (p) => (p ? `exec gemini -i ${quote(p)}` : 'exec gemini') },
  { scope: 'opencode', label: 'OpenCode', command: (p) => (p ? `exec opencode --prompt ${quote(p)}` : 'exec opencode') },
];

const TASK_PROMPT = 'Run `openkit task context` to get the task details, then implement the task.';

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function labelOf(scope: Scope | null): string {
  if (!scope || scope === 'terminal') return 'Shell';
  return AGENTS.find((a) => a.scope === scope)?.label ?? scope;
}

/** Unscoped sessions this tab opened (the server can only look up scoped ones). */
function storedSessions(worktreeId: string): Session[] {
  try {
    return JSON.parse(sessionStorage.getItem(`openkit.terms.${worktreeId}`) ?? '[]') as Session[];
  } catch {
    return [];
  }
}

function storeSessions(worktreeId: string, sessions: Session[]): void {
  try {
    sessionStorage.setItem(`openkit.terms.${worktreeId}`, JSON.stringify(sessions.filter((s) => !s.scope)));
  } catch {
    // Storage unavailable: extra shells are forgotten on reload.
  }
}

function dark(): boolean {
  return window.matchMedia('(prefers-color-scheme: dark)').matches;
}

function theme(): ITheme {
  return dark()
    ? { background: '#0f1115', foreground: '#d8dee9', cursor: '#d8dee9', selectionBackground: '#3b4252' }
    : { background: '#fbfbfc', foreground: '#1f2328', cursor: '#1f2328', selectionBackground: '#c8d7f0', selectionInactiveBackground: '#dde5f2' };
}

type Link = { state: 'connecting' | 'open' | 'closed' | 'gone' } | { state: 'exited'; code: number };

function XTerm({ session, onGone }: { session: Session; onGone: () => void }) {
  const host = useRef<HTMLDivElement>(null);
  const termRef = useRef<Terminal | null>(null);
  const [link, setLink] = useState<Link>({ state: 'connecting' });
  const [copied, setCopied] = useState<string | null>(null);
  const reconnectRef = useRef<() => void>(() => {});

  useEffect(() => {
    const term = new Terminal({
      cursorBlink: true,
      fontSize: window.innerWidth < 600 ? 12 : 13,
      fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace',
      scrollback: 5000,
      theme: theme(),
    });
    termRef.current = term;
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(host.current!);
    const refit = () => {
      try {
        fit.fit();
      } catch {
        // Not laid out yet.
      }
    };
    refit();
    const encoder = new TextEncoder();
    let ws: WebSocket | null = null;
    let disposed = false;
    let exited = false;
    let openedAt = 0;
    let timer: number | undefined;

    const sendResize = () => {
      if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'resize', cols: term.cols, rows: term.rows }));
    };
    const connect = () => {
      window.clearTimeout(timer);
      setLink({ state: 'connecting' });
      const socket = new WebSocket(apiUrl(`api/terminals/${seg(session.id)}/ws`, 'ws'));
      ws = socket;
      socket.binaryType = 'arraybuffer';
      socket.onopen = () => {
        openedAt = Date.now();
        setLink({ state: 'open' });
        sendResize();
      };
      socket.onmessage = (m) => {
        if (typeof m.data !== 'string') {
          term.write(new Uint8Array(m.data as ArrayBuffer));
          return;
        }
        let msg: { type?: string; payload?: string; exitCode?: number };
        try {
          msg = JSON.parse(m.data);
        } catch {
          term.write(m.data);
          return;
        }
        if (msg.type === 'restore') {
          term.reset();
          term.write(msg.payload ?? '');
        } else if (msg.type === 'exit') {
          exited = true;
          setLink({ state: 'exited', code: msg.exitCode ?? 0 });
        }
      };
      socket.onclose = (e) => {
        if (disposed || ws !== socket || exited) return;
        if (e.code === 1008) {
          setLink({ state: 'gone' });
          onGone();
          return;
        }
        setLink({ state: 'closed' });
        // A socket that lived a while dropped (server restart, network): come back once
        // the event stream is live again. One that was closed right away was most likely
        // replaced by another tab: the user decides, so two tabs never fight over it.
        if (Date.now() - openedAt > 10_000) waitForServer(1000);
      };
    };
    const waitForServer = (delay: number) => {
      timer = window.setTimeout(() => {
        if (disposed) return;
        if (getState().connection === 'live') connect();
        else waitForServer(Math.min(delay * 2, 5000));
      }, delay);
    };
    reconnectRef.current = connect;

    term.onData((d) => {
      if (ws?.readyState === WebSocket.OPEN) ws.send(encoder.encode(d));
    });
    term.onBinary((d) => {
      if (ws?.readyState === WebSocket.OPEN) ws.send(Uint8Array.from(d, (c) => c.charCodeAt(0)));
    });
    term.onResize(sendResize);
    term.attachCustomKeyEventHandler((e) => {
      if (e.type !== 'keydown' || !e.ctrlKey || !e.shiftKey) return true;
      if (e.code === 'KeyC' && term.hasSelection()) {
        void navigator.clipboard?.writeText(term.getSelection());
        return false;
      }
      // Ctrl+Shift+V: left to the browser, whose paste event xterm.js turns into input.
      return e.code !== 'KeyV';
    });
    const observer = new ResizeObserver(refit);
    observer.observe(host.current!);
    const scheme = window.matchMedia('(prefers-color-scheme: dark)');
    const retheme = () => (term.options.theme = theme());
    scheme.addEventListener('change', retheme);
    connect();
    term.focus();
    return () => {
      disposed = true;
      window.clearTimeout(timer);
      observer.disconnect();
      scheme.removeEventListener('change', retheme);
      ws?.close();
      term.dispose();
      termRef.current = null;
    };
    // One terminal per session; `onGone` only reports back.
  }, [session.id]);

  const copy = async () => {
    const term = termRef.current;
    if (!term) return;
    let text = term.getSelection();
    if (!text) {
      const lines: string[] = [];
      const buffer = term.buffer.active;
      for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i)?.translateToString(true) ?? '');
      text = lines.join('\n').trimEnd();
    }
    try {
      await navigator.clipboard.writeText(text);
      setCopied(term.hasSelection() ? 'Selection copied.' : 'Terminal text copied.');
    } catch (e) {
      setCopied(`Could not copy: ${(e as Error).message}`);
    }
    window.setTimeout(() => setCopied(null), 2500);
  };

  return (
    <div class="xterm-wrap">
      <div class="term-status">
        {link.state === 'connecting' && <span class="muted">Connecting…</span>}
        {link.state === 'open' && <span class="tone-success-text" data-testid="term-open">Connected</span>}
        {link.state === 'closed' && (
          <span class="error-text" role="alert">
            Disconnected from this terminal (it may be open in another tab).{' '}
            <button type="button" class="small" onClick={() => reconnectRef.current()}>
              Reconnect
            </button>
          </span>
        )}
        {link.state === 'exited' && <span class="muted">The process exited with code {link.code}.</span>}
        {link.state === 'gone' && <span class="muted">This session no longer exists.</span>}
        <span class="spacer" />
        {copied && <span class="muted">{copied}</span>}
        <button type="button" class="small ghost" onClick={() => void copy()} title="Copy the selection (Ctrl+Shift+C), or all text; paste with Ctrl+Shift+V">
          Copy
        </button>
      </div>
      <div class="xterm-host" ref={host} data-testid="xterm" />
    </div>
  );
}

/** `focus`: a session to select (an agent's that asks for input, from "Needs you"). */
export function Terminals({ w, focus }: { w: WorktreeInfo; focus?: string }) {
  const [sessions, setSessions] = useState<Session[] | null>(null);
  const [active, setActive] = useState<string | null>(null);
  const load = useAction();
  const launch = useAction();
  const prompt = w.issueId || w.localIssueId ? TASK_PROMPT : null;

  const update = (next: Session[]) => {
    setSessions(next);
    storeSessions(w.id, next);
  };

  const loadRun = load.run;
  useEffect(() => {
    void loadRun(async () => {
      const scopes: Scope[] = ['terminal', ...AGENTS.map((a) => a.scope)];
      const found = await Promise.all(
        scopes.map(async (scope) => {
          const r = await get<{ sessionId: string | null }>(`api/worktrees/${seg(w.id)}/terminals/active?scope=${scope}`);
          return r.sessionId ? ({ id: r.sessionId, label: labelOf(scope), scope } as Session) : null;
        }),
      );
      const list = [...found.filter((s): s is Session => s !== null), ...storedSessions(w.id)];
      // A session opened while this list was loading stays.
      setSessions((prev) => [...list, ...(prev ?? []).filter((p) => !list.some((s) => s.id === p.id))]);
      setActive((a) => a ?? list[0]?.id ?? null);
    });
  }, [w.id, loadRun]);

  const open = async (scope: Scope | null, startupCommand?: string) => {
    const r = await launch.run(async () => {
      if (scope && scope !== 'terminal') {
        const status = await get<{ installed: boolean; label: string; command: string }>(`api/agents/${scope}/cli/status`);
        if (!status.installed) throw new Error(`${status.label} is not installed here: \`${status.command}\` was not found on the server's PATH.`);
      }
      const body: Record<string, unknown> = { cols: 100, rows: 30 };
      if (scope) body.scope = scope;
      if (startupCommand) body.startupCommand = startupCommand;
      return post<{ sessionId: string }>(`api/worktrees/${seg(w.id)}/terminals`, body);
    });
    if (!r) return;
    const current = sessions ?? [];
    const session: Session = { id: r.sessionId, label: labelOf(scope), scope };
    update([...current.filter((s) => s.id !== r.sessionId && !(scope && s.scope === scope)), session]);
    setActive(r.sessionId);
  };

  const close = async (s: Session) => {
    await launch.run(() => del(`api/terminals/${seg(s.id)}`).catch((e) => (e.status === 404 ? null : Promise.reject(e))));
    const next = (sessions ?? []).filter((x) => x.id !== s.id);
    update(next);
    if (active === s.id) setActive(next[0]?.id ?? null);
  };

  // Select the focused session once the list is known (and whenever the focus moves).
  const loaded = sessions !== null;
  useEffect(() => {
    if (!focus || !sessions) return;
    if (!sessions.some((s) => s.id === focus)) {
      const agent = w.agentSessions?.find((a) => a.sessionId === focus);
      if (!agent) return;
      setSessions([...sessions, { id: focus, label: agentLabel(agent.agent), scope: agent.agent as Scope }]);
    }
    setActive(focus);
    // Only a new focus or the first list decides; later clicks on tabs are the user's.
  }, [focus, loaded]);

  const asking = new Set((w.agentSessions ?? []).filter((a) => a.state === 'waiting-for-input').map((a) => a.sessionId));
  const hasShell = sessions?.some((s) => s.scope === 'terminal');
  const current = sessions?.find((s) => s.id === active);
  return (
    <div class="terminals" data-testid="terminals">
      <div class="toolbar wrap">
        <div class="tabs" role="tablist" aria-label="Terminal sessions">
          {(sessions ?? []).map((s) => (
            <span key={s.id} class={s.id === active ? 'tab active' : 'tab'}>
              <button type="button" role="tab" class="link" aria-selected={s.id === active} onClick={() => setActive(s.id)}>
                {s.label}
                {asking.has(s.id) && (
                  <span class="badge agent-chip tone-warning asking" title="Waiting for your input">
                    waiting
                  </span>
                )}
              </button>
              <button type="button" class="link close-tab" aria-label={`Close ${s.label}`} onClick={() => void close(s)}>
                ×
              </button>
            </span>
          ))}
        </div>
        <span class="spacer" />
        <button type="button" class="small primary" disabled={launch.busy} onClick={() => void open(hasShell ? null : 'terminal')}>
          + Shell
        </button>
        {AGENTS.map((a) => (
          <button key={a.scope} type="button" class="small" disabled={launch.busy} onClick={() => void open(a.scope, a.command(prompt))} title={`Start ${a.label} in ${w.id}`}>
            {a.label}
          </button>
        ))}
      </div>
      {load.error && (
        <p class="error-text" role="alert">
          Could not list the terminals: {load.error}
        </p>
      )}
      {launch.error && (
        <p class="error-text" role="alert">
          {launch.error}
        </p>
      )}
      {current ? (
        <XTerm
          key={current.id}
          session={current}
          onGone={() => {
            const next = (sessions ?? []).filter((x) => x.id !== current.id);
            update(next);
          }}
        />
      ) : (
        sessions && <p class="muted pad">No terminal open in {w.id}. Start a shell or an agent above.</p>
      )}
    </div>
  );
}
