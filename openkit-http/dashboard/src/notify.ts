// Browser notifications for the activity types listed in `activity.osNotificationEvents`.

import type { ActivityEvent } from './api';
import { go } from './route';
import { getState } from './store';

/** Events older than this (replayed after a reconnect) do not pop up any more. */
const FRESH_MS = 5 * 60_000;

export function notificationsSupported(): boolean {
  return typeof Notification !== 'undefined';
}

export function notifyActivity(event: ActivityEvent): void {
  if (!notificationsSupported() || Notification.permission !== 'granted') return;
  if (!getState().notificationEvents.includes(event.type)) return;
  if (Date.now() - Date.parse(event.timestamp) > FRESH_MS) return;
  try {
    const n = new Notification(event.title, {
      body: event.detail ?? event.worktreeId ?? '',
      tag: event.groupKey ?? event.id,
    });
    n.onclick = () => {
      window.focus();
      if (event.worktreeId) location.hash = `#/w/${encodeURIComponent(event.worktreeId)}`;
      n.close();
    };
  } catch {
    // Some browsers only allow notifications from a service worker: nothing to show.
  }
}

/** An auto-started agent's terminal is focused only this soon after its start. */
const FOCUS_MS = 60_000;

/**
 * An agent the tracker refresh started on a new issue (`auto_task_claimed`) with
 * `autoStartClaudeFocusTerminal` on: its terminal is shown.
 */
export function focusAutoStartedTerminal(event: ActivityEvent): void {
  if (event.type !== 'auto_task_claimed' || !event.worktreeId) return;
  const meta = event.metadata ?? {};
  if (meta.focusTerminal !== true || typeof meta.sessionId !== 'string') return;
  if (Date.now() - Date.parse(event.timestamp) > FOCUS_MS) return;
  go({ view: 'worktrees', id: event.worktreeId, tab: 'terminals', session: meta.sessionId });
}
