// The activity timeline (severity colours, filters) and the ops log, both live from the
// event stream; older history on demand.

import { Fragment } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { get, type ActivityEvent, type OpsLogEvent } from '../api';
import { useAction } from '../action';
import { clock } from '../format';
import { href } from '../route';
import { mergeById, setState, useStore } from '../store';

function day(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleDateString(undefined, { weekday: 'short', month: 'short', day: 'numeric' });
}

export function Timeline({ events }: { events: ActivityEvent[] }) {
  if (events.length === 0) return <p class="muted pad">No activity matches.</p>;
  let lastDay = '';
  return (
    <ol class="timeline" data-testid="timeline">
      {events.map((e) => {
        const d = day(e.timestamp);
        const heading = d !== lastDay ? <li class="day">{d}</li> : null;
        lastDay = d;
        return (
          <Fragment key={e.id}>
            {heading}
            <li class={`event sev-${e.severity}`} data-type={e.type}>
              <time dateTime={e.timestamp}>{clock(e.timestamp)}</time>
              <span class="event-body">
                <span class="event-title">{e.title}</span>
                <span class="muted event-meta">
                  {e.category} · {e.type}
                  {e.worktreeId && (
                    <>
                      {' · '}
                      <a href={href({ view: 'worktrees', id: e.worktreeId, tab: 'terminals' })}>{e.worktreeId}</a>
                    </>
                  )}
                </span>
                {e.detail && <pre class="event-detail">{e.detail}</pre>}
              </span>
            </li>
          </Fragment>
        );
      })}
    </ol>
  );
}

/** The activity of one worktree, newest first. */
export function ActivityList({ worktreeId }: { worktreeId: string }) {
  const events = useStore((s) => s.activity);
  const mine = useMemo(() => events.filter((e) => e.worktreeId === worktreeId).reverse(), [events, worktreeId]);
  return <Timeline events={mine} />;
}

function OpsLog({ events }: { events: OpsLogEvent[] }) {
  if (events.length === 0) return <p class="muted pad">No log entry matches.</p>;
  return (
    <table class="ops">
      <thead>
        <tr>
          <th>Time</th>
          <th>Level</th>
          <th>Source</th>
          <th>Message</th>
        </tr>
      </thead>
      <tbody>
        {events.map((e) => (
          <tr key={e.id} class={`lvl-${e.level}`}>
            <td>
              <time dateTime={e.timestamp}>{clock(e.timestamp)}</time>
            </td>
            <td>{e.level}</td>
            <td>{e.source}</td>
            <td class="ops-msg">
              {e.message}
              {e.status === 'failed' && <span class="badge tone-error">failed</span>}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function ActivityView() {
  const { activity, ops } = useStore((s) => ({ activity: s.activity, ops: s.ops }));
  const [which, setWhich] = useState<'activity' | 'ops'>('activity');
  const [category, setCategory] = useState('');
  const [severity, setSeverity] = useState('');
  const [level, setLevel] = useState('');
  const [text, setText] = useState('');
  const more = useAction();
  const q = text.trim().toLowerCase();

  const shownActivity = useMemo(
    () =>
      activity
        .filter(
          (e) =>
            (!category || e.category === category) &&
            (!severity || e.severity === severity) &&
            (!q || `${e.title} ${e.type} ${e.detail ?? ''} ${e.worktreeId ?? ''}`.toLowerCase().includes(q)),
        )
        .reverse(),
    [activity, category, severity, q],
  );
  const shownOps = useMemo(
    () => ops.filter((e) => (!level || e.level === level) && (!q || `${e.message} ${e.source} ${e.action}`.toLowerCase().includes(q))).reverse(),
    [ops, level, q],
  );

  const loadMore = () =>
    void more.run(async () => {
      if (which === 'activity') {
        const r = await get<{ events: ActivityEvent[] }>('api/activity?limit=500');
        setState((s) => ({ activity: mergeById(s.activity, r.events) }));
      } else {
        const r = await get<{ events: OpsLogEvent[] }>('api/logs?limit=500');
        setState((s) => ({ ops: mergeById(s.ops, r.events) }));
      }
    });

  return (
    <section class="page" aria-label="Activity">
      <div class="toolbar wrap">
        <div class="tabs" role="tablist">
          <button type="button" role="tab" class={which === 'activity' ? 'tab active' : 'tab'} aria-selected={which === 'activity'} onClick={() => setWhich('activity')}>
            Activity
          </button>
          <button type="button" role="tab" class={which === 'ops' ? 'tab active' : 'tab'} aria-selected={which === 'ops'} onClick={() => setWhich('ops')}>
            Ops log
          </button>
        </div>
        <input type="search" placeholder="Search" aria-label="Search" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        {which === 'activity' ? (
          <>
            <select aria-label="Category" value={category} onChange={(e) => setCategory((e.target as HTMLSelectElement).value)}>
              <option value="">All categories</option>
              <option value="agent">Agent</option>
              <option value="worktree">Worktree</option>
              <option value="system">System</option>
            </select>
            <select aria-label="Severity" value={severity} onChange={(e) => setSeverity((e.target as HTMLSelectElement).value)}>
              <option value="">All severities</option>
              <option value="error">Errors</option>
              <option value="warning">Warnings</option>
              <option value="success">Successes</option>
              <option value="info">Info</option>
            </select>
          </>
        ) : (
          <select aria-label="Level" value={level} onChange={(e) => setLevel((e.target as HTMLSelectElement).value)}>
            <option value="">All levels</option>
            <option value="error">Errors</option>
            <option value="warning">Warnings</option>
            <option value="info">Info</option>
            <option value="debug">Debug</option>
          </select>
        )}
        <button type="button" class="small" disabled={more.busy} onClick={loadMore}>
          Load older
        </button>
      </div>
      {more.error && (
        <p class="error-text" role="alert">
          Could not load the history: {more.error}
        </p>
      )}
      {which === 'activity' ? <Timeline events={shownActivity} /> : <OpsLog events={shownOps} />}
    </section>
  );
}
