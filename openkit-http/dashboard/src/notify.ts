// Browser notifications for the activity types listed in `activity.osNotificationEvents`.

import type { ActivityEvent } from './api';
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
