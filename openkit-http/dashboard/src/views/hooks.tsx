// A worktree's checks (hooks): run the steps of a trigger, cancel, the latest run with
// each step's output, what is still required (flow), and the configuration that applies
// here (skills with the task's overrides). Follows the `hook-update` events of the
// stream: the run's progress arrives without polling.

import { useCallback, useEffect, useState } from 'preact/hooks';
import { del, get, post, seg, type WorktreeInfo } from '../api';
import { useAction } from '../action';
import { ago } from '../format';
import { useStore } from '../store';

export type HookTrigger = 'pre-implementation' | 'post-implementation' | 'custom' | 'on-demand' | 'worktree-created' | 'worktree-removed';

export interface StepResult {
  stepId: string;
  stepName: string;
  command: string;
  status: 'pending' | 'running' | 'passed' | 'failed' | 'cancelled';
  output: string;
  exitCode?: number;
  timedOut: boolean;
  truncated: boolean;
  cached: boolean;
  startedAt?: string;
  completedAt?: string;
  durationMs?: number;
}

export interface PipelineRun {
  id: string;
  worktreeId: string;
  trigger: HookTrigger;
  status: 'running' | 'completed' | 'failed' | 'cancelled';
  startedAt: string;
  completedAt?: string;
  steps: StepResult[];
}

interface SkillReport {
  skillName: string;
  trigger: HookTrigger;
  success: boolean;
  summary?: string;
  reportedAt: string;
}

interface HookStatus {
  status: PipelineRun | null;
  stepResults: StepResult[];
  skillReports: SkillReport[];
}

interface FlowItem {
  kind: 'step' | 'skill';
  id: string;
  name: string;
  command?: string;
  trigger: HookTrigger;
  state: 'missing' | 'failed' | 'stale' | 'done';
}

interface Flow {
  complete: boolean;
  items: FlowItem[];
}

interface Effective {
  steps: { id: string; name: string; command: string; kind: 'command' | 'prompt'; prompt?: string; enabled: boolean; trigger: HookTrigger; condition?: string; timeout?: number }[];
  skills: { skillName: string; trigger: HookTrigger; enabled: boolean; configuredEnabled: boolean; override?: 'enable' | 'disable'; condition?: string }[];
}

const RUNNABLE: HookTrigger[] = ['post-implementation', 'pre-implementation', 'on-demand', 'custom'];

const STEP_TONE: Record<StepResult['status'], string> = {
  pending: 'muted',
  running: 'info',
  passed: 'success',
  failed: 'error',
  cancelled: 'warning',
};

const FLOW_TONE: Record<FlowItem['state'], string> = {
  missing: 'warning',
  failed: 'error',
  stale: 'warning',
  done: 'success',
};

function StepRow({ step }: { step: StepResult }) {
  const label = step.timedOut ? 'timed out' : step.cached ? 'passed (cached)' : step.status;
  return (
    <li class="hook-step" data-testid="hook-step">
      <details open={step.status === 'failed'}>
        <summary>
          <span class={`badge tone-${STEP_TONE[step.status]}`}>{label}</span> <strong>{step.stepName}</strong> <code>{step.command}</code>
          {step.durationMs !== undefined && <span class="muted"> {(step.durationMs / 1000).toFixed(1)} s</span>}
          {step.exitCode !== undefined && step.status === 'failed' && <span class="muted"> exit {step.exitCode}</span>}
        </summary>
        <pre class="logs hook-output">{step.output || (step.status === 'running' ? 'Running…' : 'No output.')}</pre>
      </details>
    </li>
  );
}

export function Hooks({ w }: { w: WorktreeInfo }) {
  const [status, setStatus] = useState<HookStatus | null>(null);
  const [flow, setFlow] = useState<Flow | null>(null);
  const [effective, setEffective] = useState<Effective | null>(null);
  const [trigger, setTrigger] = useState<HookTrigger>('post-implementation');
  const [force, setForce] = useState(false);
  const load = useAction();
  const run = useAction();
  const cancel = useAction();
  // Every hook-update of this worktree bumps the counter; the view refetches then.
  const updates = useStore((s) => s.hookUpdates[w.id] ?? 0);
  const base = `api/worktrees/${seg(w.id)}/hooks`;
  const refresh = useCallback(
    () =>
      load.run(async () => {
        const [st, fl, ef] = await Promise.all([get<HookStatus>(`${base}/status`), get<Flow>(`${base}/flow`), get<Effective>(`${base}/effective-config`)]);
        setStatus(st);
        setFlow(fl);
        setEffective(ef);
      }),
    [base, load.run],
  );
  useEffect(() => {
    void refresh();
  }, [refresh, updates]);
  const latest = status?.status ?? null;
  const running = latest?.status === 'running';
  return (
    <div class="hooks-pane" data-testid="hooks">
      <div class="toolbar wrap">
        <label>
          Trigger{' '}
          <select value={trigger} onChange={(e) => setTrigger((e.target as HTMLSelectElement).value as HookTrigger)} aria-label="Trigger">
            {RUNNABLE.map((t) => (
              <option value={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          <input type="checkbox" checked={force} onChange={(e) => setForce((e.target as HTMLInputElement).checked)} /> Run passed steps again
        </label>
        <button type="button" class="primary" disabled={run.busy || running || w.status === 'creating'} onClick={() => void run.run(() => post(`${base}/run${force ? '?force=true' : ''}`, { trigger }))}>
          Run checks
        </button>
        {running && (
          <button type="button" class="danger-button" disabled={cancel.busy} onClick={() => void cancel.run(() => del(`${base}/run`))}>
            Cancel
          </button>
        )}
      </div>
      {[load.error && `Could not load the checks: ${load.error}`, run.error && `Could not run the checks: ${run.error}`, cancel.error && `Could not cancel: ${cancel.error}`]
        .filter(Boolean)
        .map((m) => (
          <p class="error-text" role="alert">
            {m}
          </p>
        ))}
      {flow && flow.items.length > 0 && (
        <section aria-label="Required checks">
          <h3>{flow.complete ? 'All required checks are done' : 'Required before the work leaves this worktree'}</h3>
          <ul class="hook-flow">
            {flow.items.map((i) => (
              <li>
                <span class={`badge tone-${FLOW_TONE[i.state]}`}>{i.state}</span> {i.kind === 'skill' ? 'skill ' : ''}
                <strong>{i.name}</strong> <span class="muted">({i.trigger})</span>
              </li>
            ))}
          </ul>
        </section>
      )}
      <section aria-label="Latest run">
        {latest ? (
          <>
            <h3>
              Latest run: {latest.trigger}{' '}
              <span class={`badge tone-${latest.status === 'completed' ? 'success' : latest.status === 'running' ? 'info' : latest.status === 'failed' ? 'error' : 'warning'}`} data-testid="hook-run-status">
                {latest.status}
              </span>{' '}
              <span class="muted">{ago(latest.startedAt)}</span>
            </h3>
            {latest.steps.length === 0 ? <p class="muted">No command steps for this trigger.</p> : <ul class="hook-steps">{latest.steps.map((s) => <StepRow step={s} />)}</ul>}
          </>
        ) : (
          <p class="muted pad">{status ? 'No checks have run in this worktree yet.' : 'Loading…'}</p>
        )}
      </section>
      {status && status.skillReports.length > 0 && (
        <section aria-label="Skill reports">
          <h3>Skill reports</h3>
          <ul class="hook-flow">
            {status.skillReports.map((r) => (
              <li>
                <span class={`badge tone-${r.success ? 'success' : 'error'}`}>{r.success ? 'passed' : 'failed'}</span> <strong>{r.skillName}</strong>{' '}
                <span class="muted">
                  ({r.trigger}, {ago(r.reportedAt)})
                </span>
                {r.summary && <div>{r.summary}</div>}
              </li>
            ))}
          </ul>
        </section>
      )}
      {effective && (
        <section aria-label="Configuration here">
          <h3>What applies here</h3>
          {effective.steps.length === 0 && effective.skills.length === 0 ? (
            <p class="muted">
              No hooks configured: add steps with <code>POST /api/hooks/steps</code> or <code>.openkit/hooks.json</code>.
            </p>
          ) : (
            <ul class="hook-flow">
              {effective.steps.map((s) => (
                <li class={s.enabled ? '' : 'muted'}>
                  <span class="badge tone-muted">{s.kind}</span> <strong>{s.name}</strong> <span class="muted">({s.trigger}{s.enabled ? '' : ', disabled'})</span>{' '}
                  {s.kind === 'command' ? <code>{s.command}</code> : <span>{s.prompt}</span>}
                </li>
              ))}
              {effective.skills.map((s) => (
                <li class={s.enabled ? '' : 'muted'}>
                  <span class="badge tone-muted">skill</span> <strong>{s.skillName}</strong>{' '}
                  <span class="muted">
                    ({s.trigger}
                    {s.enabled ? '' : ', off'}
                    {s.override ? `, ${s.override}d by the task` : ''})
                  </span>
                </li>
              ))}
            </ul>
          )}
        </section>
      )}
    </div>
  );
}
