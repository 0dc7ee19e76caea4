// CPU and memory per worktree as small live charts, from `GET /api/perf/stream`. The
// server samples only while a stream is open, so the stream is open only while this view
// is shown.

import { useEffect, useState } from 'preact/hooks';
import { apiPath, type PerfSnapshot } from '../api';
import { bytes, percent } from '../format';
import { href } from '../route';

const KEEP = 150;

interface Series {
  cpu: number[];
  memory: number[];
}

function Spark({ values, max, label, format, tone }: { values: number[]; max: number; label: string; format: (n: number) => string; tone: string }) {
  const w = 240;
  const h = 44;
  const top = Math.max(max, ...values, 1e-9);
  const step = values.length > 1 ? w / (KEEP - 1) : 0;
  const x0 = w - step * (values.length - 1);
  const points = values.map((v, i) => `${(x0 + i * step).toFixed(1)},${(h - (v / top) * (h - 2) - 1).toFixed(1)}`).join(' ');
  const last = values[values.length - 1];
  return (
    <figure class="spark">
      <figcaption>
        <span>{label}</span>
        <strong>{last === undefined ? '—' : format(last)}</strong>
      </figcaption>
      <svg viewBox={`0 0 ${w} ${h}`} preserveAspectRatio="none" role="img" aria-label={`${label} over the last ${values.length} samples`}>
        {values.length > 1 && <polyline points={`${x0},${h} ${points} ${w},${h}`} class={`area tone-${tone}`} />}
        {values.length > 1 && <polyline points={points} class={`line tone-${tone}`} />}
      </svg>
    </figure>
  );
}

function seriesOf(snapshots: PerfSnapshot[]): { server: Series; worktrees: Map<string, Series> } {
  const server: Series = { cpu: [], memory: [] };
  const worktrees = new Map<string, Series>();
  snapshots.forEach((s, i) => {
    server.cpu.push(s.server.cpu);
    server.memory.push(s.server.memory);
    for (const w of s.worktrees) {
      let series = worktrees.get(w.worktreeId);
      if (!series) {
        // A worktree seen late starts at zero, so every chart shares one time axis.
        series = { cpu: Array(i).fill(0), memory: Array(i).fill(0) };
        worktrees.set(w.worktreeId, series);
      }
      series.cpu.push(w.totalCpu);
      series.memory.push(w.totalMemory);
    }
    for (const [id, series] of worktrees) {
      if (!s.worktrees.some((w) => w.worktreeId === id)) {
        series.cpu.push(0);
        series.memory.push(0);
      }
    }
  });
  return { server, worktrees };
}

export function PerfView() {
  const [snapshots, setSnapshots] = useState<PerfSnapshot[]>([]);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const source = new EventSource(apiPath('api/perf/stream'));
    source.onmessage = (m) => {
      setError(null);
      const event = JSON.parse(m.data as string) as { type: 'perf-history'; snapshots: PerfSnapshot[] } | { type: 'perf-snapshot'; snapshot: PerfSnapshot };
      if (event.type === 'perf-history') setSnapshots(event.snapshots.slice(-KEEP));
      else setSnapshots((old) => [...old, event.snapshot].slice(-KEEP));
    };
    source.onerror = () => setError('The performance stream was interrupted; it reconnects by itself.');
    return () => source.close();
  }, []);

  const latest = snapshots[snapshots.length - 1];
  const { server, worktrees } = seriesOf(snapshots);
  return (
    <section class="page" aria-label="Performance">
      {error && (
        <p class="error-text" role="alert">
          {error}
        </p>
      )}
      {latest ? (
        <p class="muted">
          {latest.system.processCount} processes · {percent(latest.system.totalCpu)} CPU · {bytes(latest.system.totalMemory)} memory (OpenKit and everything it started)
        </p>
      ) : (
        <p class="muted">Waiting for the first sample (one every 2 s)…</p>
      )}
      <div class="perf-grid" data-testid="perf">
        <article class="perf-card">
          <h3>OpenKit server</h3>
          <Spark values={server.cpu} max={100} label="CPU" format={percent} tone="info" />
          <Spark values={server.memory} max={0} label="Memory" format={bytes} tone="success" />
        </article>
        {[...worktrees].map(([id, s]) => {
          const now = latest?.worktrees.find((w) => w.worktreeId === id);
          return (
            <article class="perf-card" key={id}>
              <h3>
                <a href={href({ view: 'worktrees', id, tab: 'server' })}>{id}</a>
              </h3>
              <Spark values={s.cpu} max={100} label="CPU" format={percent} tone="info" />
              <Spark values={s.memory} max={0} label="Memory" format={bytes} tone="success" />
              {now && (
                <p class="muted small-text">
                  {now.devServer ? `dev server ${now.devServer.name} (pid ${now.devServer.pid})` : 'no dev server'}
                  {now.childProcesses.length > 0 && ` · ${now.childProcesses.length} child processes`}
                  {now.agentSessions.length > 0 && ` · ${now.agentSessions.length} terminal sessions`}
                </p>
              )}
            </article>
          );
        })}
      </div>
      {latest && worktrees.size === 0 && <p class="muted">No worktree runs a dev server or an agent right now.</p>}
    </section>
  );
}
