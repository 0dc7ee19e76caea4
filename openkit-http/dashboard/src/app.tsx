// The frame: header with navigation and connection state, the "Needs you" strip, and
// the current view.

import { useEffect, useState } from 'preact/hooks';
import { alerts, type Alert } from './alerts';
import { loadSettings } from './settings';
import { ago } from './format';
import { notificationsSupported } from './notify';
import { go, href, useRoute, type Route } from './route';
import { dismiss, useStore } from './store';
import { ActivityView } from './views/activity';
import { PerfView } from './views/perf';
import { SettingsView } from './views/settings';
import { TasksView } from './views/tasks';
import { WorktreesView } from './views/worktrees';

const NAV: { view: Route['view']; label: string; shortcut: string }[] = [
  { view: 'worktrees', label: 'Worktrees', shortcut: 'nav-worktrees' },
  { view: 'activity', label: 'Activity', shortcut: 'nav-activity' },
  { view: 'perf', label: 'Perf', shortcut: 'nav-agents' },
  { view: 'tasks', label: 'Tasks', shortcut: 'nav-issues' },
  { view: 'settings', label: 'Settings', shortcut: 'nav-settings' },
];

/** True when `e` matches a shortcut such as `meta+shift+w`. */
function matches(e: KeyboardEvent, shortcut: string): boolean {
  const parts = shortcut.toLowerCase().split('+');
  const key = parts[parts.length - 1];
  const want = new Set(parts.slice(0, -1));
  if (!key || ['meta', 'ctrl', 'alt', 'shift'].includes(key)) return false;
  return (
    e.key.toLowerCase() === key &&
    e.metaKey === want.has('meta') &&
    e.ctrlKey === want.has('ctrl') &&
    e.altKey === want.has('alt') &&
    e.shiftKey === want.has('shift')
  );
}

function ConnectionBadge() {
  const connection = useStore((s) => s.connection);
  const label = { live: 'Live', connecting: 'Connecting…', lost: 'Offline' }[connection];
  return (
    <span class={`conn conn-${connection}`} role="status" aria-live="polite" data-testid="connection">
      <span class="dot" aria-hidden="true" />
      {label}
    </span>
  );
}

function ConnectionBanner() {
  const { connection, connectionError, lostSince } = useStore((s) => ({
    connection: s.connection,
    connectionError: s.connectionError,
    lostSince: s.lostSince,
  }));
  if (connection !== 'lost') return null;
  return (
    <div class="banner banner-error" role="alert" data-testid="connection-lost">
      Connection to the OpenKit server lost{lostSince ? ` ${ago(new Date(lostSince).toISOString())}` : ''}
      {connectionError ? `: ${connectionError}` : '.'} Reconnecting by itself; what you see may be out of date.
    </div>
  );
}

const KIND_LABEL: Record<Alert['kind'], string> = { asking: 'Asks you', waiting: 'Waiting for you', crashed: 'Crashed', failed: 'Failed' };

function NeedsYou() {
  const items = useStore((s) => alerts(s));
  if (items.length === 0) return null;
  return (
    <section class="needs" aria-label="Needs you" data-testid="needs-you">
      <h2>Needs you</h2>
      <ul>
        {items.map((a) => (
          <li key={a.id} class={`alert alert-${a.kind}`}>
            <span class="alert-kind">{KIND_LABEL[a.kind]}</span>
            {a.worktreeId ? (
              <a
                class="alert-title"
                href={href({ view: 'worktrees', id: a.worktreeId, tab: a.kind === 'crashed' ? 'server' : 'terminals', session: a.sessionId })}
              >
                {a.title}
                {a.kind === 'asking' && a.detail && <span class="alert-message">{a.detail}</span>}
              </a>
            ) : (
              <span class="alert-title">{a.title}</span>
            )}
            <span class="alert-when">
              <span class="muted">{ago(a.timestamp)}</span>
              <button type="button" class="link" onClick={() => dismiss(a.id)} aria-label={`Dismiss: ${a.title}`}>
                Dismiss
              </button>
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function NotificationButton() {
  const [permission, setPermission] = useState(() => (notificationsSupported() ? Notification.permission : 'denied'));
  if (!notificationsSupported() || permission !== 'default') return null;
  return (
    <button type="button" class="ghost small" onClick={() => void Notification.requestPermission().then(setPermission)}>
      Enable notifications
    </button>
  );
}

export function App() {
  const route = useRoute();
  const projectName = useStore((s) => s.projectName);
  const shortcuts = useStore((s) => s.localConfig?.shortcuts);

  useEffect(() => {
    void loadSettings();
  }, []);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!shortcuts || !(e.metaKey || e.ctrlKey || e.altKey)) return;
      const hit = NAV.find((n) => shortcuts[n.shortcut] && matches(e, shortcuts[n.shortcut]));
      if (!hit) return;
      e.preventDefault();
      go(hit.view === 'worktrees' ? { view: 'worktrees', tab: 'terminals' } : ({ view: hit.view } as Route));
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [shortcuts]);

  useEffect(() => {
    document.title = projectName ? `${projectName} · OpenKit` : 'OpenKit';
  }, [projectName]);

  return (
    <>
      <header class="top">
        <a class="brand" href="#/">
          OpenKit
        </a>
        {projectName && <span class="project">{projectName}</span>}
        <nav aria-label="Views">
          {NAV.map((n) => (
            <a key={n.view} href={`#/${n.view === 'worktrees' ? '' : n.view}`} aria-current={route.view === n.view ? 'page' : undefined}>
              {n.label}
            </a>
          ))}
        </nav>
        <span class="spacer" />
        <NotificationButton />
        <ConnectionBadge />
      </header>
      <ConnectionBanner />
      <NeedsYou />
      <main>
        {route.view === 'worktrees' && <WorktreesView route={route} />}
        {route.view === 'activity' && <ActivityView />}
        {route.view === 'perf' && <PerfView />}
        {route.view === 'tasks' && <TasksView />}
        {route.view === 'settings' && <SettingsView />}
      </main>
    </>
  );
}
