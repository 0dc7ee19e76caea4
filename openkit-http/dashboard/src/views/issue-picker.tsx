// Picking an issue of a configured tracker (Jira, Linear, Kiket, Kizuna) to start a
// worktree from: which trackers are set up, a debounced search, and the list.

import { useEffect, useRef, useState } from 'preact/hooks';
import { get, post, seg } from '../api';

/** A tracker the dashboard can start worktrees from (the `api/<id>/...` routes). */
export type TrackerId = 'jira' | 'linear' | 'kiket' | 'kizuna';

/** One issue as the picker shows it, whatever its tracker. */
export interface PickedIssue {
  tracker: TrackerId;
  key: string;
  title: string;
  status: string;
  /** The body of `POST api/<tracker>/task` for this issue (without the branch). */
  task: Record<string, string | number>;
}

interface Tracker {
  id: TrackerId;
  label: string;
  /** The issues of `GET api/<id>/issues`, each as the picker shows it. */
  issues: (body: unknown) => PickedIssue[];
}

type Listed<T> = { issues?: T[] };

const TRACKERS: Tracker[] = [
  {
    id: 'jira',
    label: 'Jira',
    issues: (body) =>
      ((body as Listed<{ key: string; summary: string; status: string }>).issues ?? []).map((i) => ({
        tracker: 'jira',
        key: i.key,
        title: i.summary,
        status: i.status,
        task: { issueKey: i.key },
      })),
  },
  {
    id: 'linear',
    label: 'Linear',
    issues: (body) =>
      ((body as Listed<{ identifier: string; title: string; state?: { name: string } }>).issues ?? []).map((i) => ({
        tracker: 'linear',
        key: i.identifier,
        title: i.title,
        status: i.state?.name ?? '',
        task: { identifier: i.identifier },
      })),
  },
  {
    id: 'kiket',
    label: 'Kiket',
    issues: (body) =>
      ((body as Listed<{ key: string; title: string; state: string }>).issues ?? []).map((i) => ({
        tracker: 'kiket',
        key: i.key,
        title: i.title,
        status: i.state,
        task: { issueKey: i.key },
      })),
  },
  {
    id: 'kizuna',
    label: 'Kizuna',
    issues: (body) =>
      ((body as Listed<{ number: number; identifier: string; title: string; state: string }>).issues ?? []).map((i) => ({
        tracker: 'kizuna',
        key: i.identifier || `#${i.number}`,
        title: i.title,
        status: i.state,
        task: { number: i.number },
      })),
  },
];

/** How long the search waits after the last keystroke. */
const DEBOUNCE_MS = 250;

/**
 * The trackers whose status says `configured`, in a fixed order; `null` while asking.
 * A tracker whose status cannot be read counts as not configured.
 */
export function useConfiguredTrackers(): TrackerId[] | null {
  const [configured, setConfigured] = useState<TrackerId[] | null>(null);
  useEffect(() => {
    let live = true;
    void Promise.all(
      TRACKERS.map((t) =>
        get<{ configured?: boolean }>(`api/${t.id}/status`).then(
          (s) => (s.configured ? t.id : null),
          () => null,
        ),
      ),
    ).then((ids) => {
      if (live) setConfigured(ids.filter((id): id is TrackerId => id !== null));
    });
    return () => {
      live = false;
    };
  }, []);
  return configured;
}

/** Starts (or reuses) the worktree of `issue`; resolves with its id. */
export async function startIssueWorktree(issue: PickedIssue, branch: string): Promise<string> {
  const body: Record<string, string | number> = { ...issue.task };
  if (branch) body.branch = branch;
  const r = await post<{ worktreeId: string }>(`api/${seg(issue.tracker)}/task`, body);
  return r.worktreeId;
}

/** The tracker selector, search box and issue list; reports the chosen issue. */
export function IssuePicker({
  trackers,
  picked,
  onPick,
}: {
  trackers: TrackerId[];
  picked: PickedIssue | null;
  onPick: (issue: PickedIssue | null) => void;
}) {
  const [tracker, setTracker] = useState<TrackerId>(trackers[0]);
  const [query, setQuery] = useState('');
  const [issues, setIssues] = useState<PickedIssue[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const search = useRef<HTMLInputElement>(null);

  useEffect(() => search.current?.focus(), []);

  useEffect(() => {
    const def = TRACKERS.find((t) => t.id === tracker);
    if (!def) return;
    let live = true;
    setError(null);
    const timer = setTimeout(() => {
      const q = query.trim();
      get<unknown>(`api/${tracker}/issues${q ? `?query=${encodeURIComponent(q)}` : ''}`).then(
        (body) => {
          if (!live) return;
          setIssues(def.issues(body));
        },
        (e: Error) => {
          if (!live) return;
          setIssues([]);
          setError(e.message);
        },
      );
    }, DEBOUNCE_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [tracker, query]);

  // A choice that the new list no longer holds is dropped.
  useEffect(() => {
    if (picked && issues && !issues.some((i) => i.tracker === picked.tracker && i.key === picked.key)) onPick(null);
  }, [issues, picked, onPick]);

  const focusFirst = (e: KeyboardEvent) => {
    if (e.key !== 'ArrowDown') return;
    const first = (e.currentTarget as HTMLElement).closest('form')?.querySelector<HTMLInputElement>('.issue-list input');
    if (first) {
      e.preventDefault();
      first.focus();
      first.click();
    }
  };

  // Enter on an issue starts it, as Enter in a text field submits.
  const submitOnEnter = (e: KeyboardEvent) => {
    if (e.key !== 'Enter') return;
    e.preventDefault();
    (e.currentTarget as HTMLInputElement).form?.requestSubmit();
  };

  return (
    <div class="issue-picker" data-testid="issue-picker">
      <div class="issue-search">
        {trackers.length > 1 && (
          <label>
            Tracker
            <select
              name="tracker"
              value={tracker}
              onChange={(e) => {
                setTracker((e.target as HTMLSelectElement).value as TrackerId);
                setIssues(null);
                onPick(null);
              }}
            >
              {trackers.map((id) => (
                <option key={id} value={id}>
                  {TRACKERS.find((t) => t.id === id)?.label ?? id}
                </option>
              ))}
            </select>
          </label>
        )}
        <label>
          Search {trackers.length === 1 && <span class="muted">({TRACKERS.find((t) => t.id === tracker)?.label})</span>}
          <input ref={search} type="search" name="issue-query" value={query} autocomplete="off" placeholder="Key or words" onInput={(e) => setQuery((e.target as HTMLInputElement).value)} onKeyDown={focusFirst} />
        </label>
      </div>
      {error ? (
        <p class="error-text" role="alert" data-testid="issues-error">
          Could not list the issues: {error}
        </p>
      ) : issues === null ? (
        <p class="muted">Loading issues…</p>
      ) : issues.length === 0 ? (
        <p class="muted">No issue matches.</p>
      ) : (
        <div class="issue-list" role="radiogroup" aria-label="Issues">
          {issues.map((i) => (
            <label key={i.key} class={picked?.key === i.key ? 'issue-option selected' : 'issue-option'}>
              <input type="radio" name="issue" value={i.key} checked={picked?.tracker === i.tracker && picked.key === i.key} onChange={() => onPick(i)} onKeyDown={submitOnEnter} />
              <span class="issue-key">{i.key}</span>
              <span class="issue-title">{i.title}</span>
              {i.status && <span class="chip">{i.status}</span>}
            </label>
          ))}
        </div>
      )}
    </div>
  );
}
