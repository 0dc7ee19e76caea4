// Project configuration (`config.json`) and local configuration (`config.local.json`):
// the fields people change, each saved with PATCH and its error shown beside it.

import { useEffect, useState } from 'preact/hooks';
import { get, patch, post, type LocalConfig, type ProjectConfig } from '../api';
import { useAction } from '../action';
import { loadSettings } from '../settings';
import { RemoteAccess } from './remote';

const TEXT_FIELDS: { key: keyof ProjectConfig & string; label: string; hint: string }[] = [
  { key: 'startCommand', label: 'Start command', hint: 'Runs the dev server in a worktree (sh -c).' },
  { key: 'installCommand', label: 'Install command', hint: 'Runs after a worktree is created, when auto-install is on.' },
  { key: 'baseBranch', label: 'Base branch', hint: 'New branches start here.' },
  { key: 'localIssuePrefix', label: 'Local task prefix', hint: 'Task ids look like PREFIX-7.' },
];

const POLICIES: { key: keyof LocalConfig & string; label: string }[] = [
  { key: 'allowAgentCommits', label: 'Agents may commit' },
  { key: 'allowAgentPushes', label: 'Agents may push' },
  { key: 'allowAgentPRs', label: 'Agents may open pull requests' },
  { key: 'arrowNavEnabled', label: 'Arrow keys move through lists' },
];

function ProjectSettings() {
  // `undefined` while loading; `null` when the project has no config.json yet.
  const [config, setConfig] = useState<ProjectConfig | null | undefined>(undefined);
  const [draft, setDraft] = useState<Record<string, unknown>>({});
  const load = useAction();
  const save = useAction();
  const init = useAction();
  const [saved, setSaved] = useState(false);
  const loadRun = load.run;
  const reload = () =>
    void loadRun(async () => {
      const r = await get<{ config: ProjectConfig | null }>('api/config');
      setConfig(r.config);
    });
  useEffect(reload, [loadRun]);

  if (load.error)
    return (
      <p class="error-text" role="alert">
        Could not load the project configuration: {load.error}
      </p>
    );
  if (config === undefined) return <p class="muted">Loading…</p>;
  if (config === null)
    return (
      <section class="settings-form" aria-label="Project configuration">
        <h2>Project (.openkit/config.json)</h2>
        <p>This project has no .openkit/config.json yet. OpenKit can write one from what it detects (package manager, scripts, base branch); change it here afterwards.</p>
        <div class="buttons">
          {init.error && (
            <span class="error-text" role="alert">
              Could not create it: {init.error}
            </span>
          )}
          <button
            type="button"
            class="primary"
            disabled={init.busy}
            onClick={async () => {
              if (await init.run(() => post('api/config/init', {}))) {
                reload();
                void loadSettings();
              }
            }}
          >
            Create config.json
          </button>
        </div>
      </section>
    );
  const value = (key: string) => (key in draft ? draft[key] : config[key]);
  const notifications = (value('activity') as ProjectConfig['activity'])?.osNotificationEvents ?? ['agent_awaiting_input'];

  return (
    <form
      class="settings-form"
      aria-label="Project configuration"
      onSubmit={async (e) => {
        e.preventDefault();
        setSaved(false);
        const r = await save.run(() => patch<{ config: ProjectConfig }>('api/config', draft));
        if (r) {
          setConfig(r.config);
          setDraft({});
          setSaved(true);
          void loadSettings();
        }
      }}
    >
      <h2>Project (.openkit/config.json)</h2>
      {TEXT_FIELDS.map((f) => (
        <label key={f.key}>
          {f.label}
          <input value={String(value(f.key) ?? '')} onInput={(e) => setDraft({ ...draft, [f.key]: (e.target as HTMLInputElement).value })} />
          <span class="muted small-text">{f.hint}</span>
        </label>
      ))}
      <label class="check">
        <input type="checkbox" checked={Boolean(value('autoInstall'))} onChange={(e) => setDraft({ ...draft, autoInstall: (e.target as HTMLInputElement).checked })} />
        Run the install command in new worktrees
      </label>
      <label>
        Browser notifications for
        <input
          value={notifications.join(', ')}
          onInput={(e) =>
            setDraft({
              ...draft,
              activity: {
                ...(config.activity ?? {}),
                osNotificationEvents: (e.target as HTMLInputElement).value
                  .split(',')
                  .map((s) => s.trim())
                  .filter(Boolean),
              },
            })
          }
        />
        <span class="muted small-text">Activity types, comma-separated (e.g. agent_awaiting_input, crashed).</span>
      </label>
      <div class="buttons">
        {saved && <span class="tone-success-text">Saved.</span>}
        {save.error && (
          <span class="error-text" role="alert">
            Could not save: {save.error}
          </span>
        )}
        <button type="submit" class="primary" disabled={save.busy || Object.keys(draft).length === 0}>
          Save
        </button>
      </div>
    </form>
  );
}

function LocalSettings() {
  const [config, setConfig] = useState<LocalConfig | null>(null);
  const load = useAction();
  const save = useAction();
  const loadRun = load.run;
  useEffect(() => {
    void loadRun(async () => setConfig((await get<{ config: LocalConfig }>('api/local-config')).config));
  }, [loadRun]);
  if (load.error)
    return (
      <p class="error-text" role="alert">
        Could not load the local configuration: {load.error}
      </p>
    );
  if (!config) return <p class="muted">Loading…</p>;
  const update = async (change: Partial<LocalConfig>) => {
    const r = await save.run(() => patch<{ config: LocalConfig }>('api/local-config', change));
    if (r) {
      setConfig(r.config);
      void loadSettings();
    }
  };
  return (
    <section class="settings-form" aria-label="Local configuration">
      <h2>This machine (.openkit/config.local.json)</h2>
      {POLICIES.map((p) => (
        <label key={p.key} class="check">
          <input type="checkbox" checked={Boolean(config[p.key] ?? (p.key === 'arrowNavEnabled'))} disabled={save.busy} onChange={(e) => void update({ [p.key]: (e.target as HTMLInputElement).checked })} />
          {p.label}
        </label>
      ))}
      <h3>Shortcuts</h3>
      <table class="shortcuts">
        <tbody>
          {Object.entries(config.shortcuts ?? {}).map(([id, keys]) => (
            <tr key={id}>
              <td>{id}</td>
              <td>
                <input
                  aria-label={`Shortcut ${id}`}
                  value={keys}
                  onChange={(e) => void update({ shortcuts: { [id]: (e.target as HTMLInputElement).value } })}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {save.error && (
        <p class="error-text" role="alert">
          Could not save: {save.error}
        </p>
      )}
    </section>
  );
}

interface McpServer {
  id: string;
  name: string;
  description: string;
  command?: string;
  args?: string[];
  type?: 'http' | 'sse';
  url?: string;
}

interface Placement {
  global: boolean;
  project: boolean;
  globalDrifted: boolean;
  projectDrifted: boolean;
  globalPath: string | null;
  projectPath: string;
}

/** Where a server is, per agent, as one badge: deployed where, drifted or not. */
function PlacementBadge({ agent, p }: { agent: string; p: Placement }) {
  const where = [p.global && 'global', p.project && 'project'].filter(Boolean).join(' + ');
  const drifted = (p.global && p.globalDrifted) || (p.project && p.projectDrifted);
  const tone = drifted ? 'warning' : where ? 'success' : 'muted';
  const title = [p.global && `global: ${p.globalPath}`, p.project && `project: ${p.projectPath}`, drifted && 'differs from what a deploy would write']
    .filter(Boolean)
    .join('; ');
  return (
    <span class={`badge tone-${tone}`} title={title || 'not deployed'} data-agent={agent}>
      {agent} · {where || 'not deployed'}
      {drifted ? ' (drifted)' : ''}
    </span>
  );
}

/** The MCP servers registry and where each is deployed (read-only; `openkit` CLI edits it). */
function McpServers() {
  const [data, setData] = useState<{ servers: McpServer[]; status: Record<string, Record<string, Placement>> } | null>(null);
  const load = useAction();
  const run = load.run;
  useEffect(() => {
    void run(async () => {
      const [list, status] = await Promise.all([
        get<{ servers: McpServer[] }>('api/mcp-servers'),
        get<{ status: Record<string, Record<string, Placement>> }>('api/mcp-servers/deployment-status'),
      ]);
      setData({ servers: list.servers, status: status.status });
    });
  }, [run]);
  return (
    <section class="settings-form" aria-label="MCP servers" data-testid="mcp-servers">
      <h2>MCP servers</h2>
      {load.error && (
        <p class="error-text" role="alert">
          Could not load the MCP servers: {load.error}
        </p>
      )}
      {!data && !load.error && <p class="muted">Loading…</p>}
      {data && data.servers.length === 0 && <p class="muted">No MCP server registered (add one with the API or `openkit`).</p>}
      {data && data.servers.length > 0 && (
        <ul class="mcp-list">
          {data.servers.map((m) => (
            <li key={m.id} data-mcp={m.id}>
              <div>
                <strong>{m.name}</strong> <span class="muted">({m.id})</span>
              </div>
              <code class="mcp-run">{m.url ? `${m.type ?? 'http'} ${m.url}` : [m.command, ...(m.args ?? [])].join(' ')}</code>
              {m.description && <div class="muted">{m.description}</div>}
              <div class="mcp-placements">
                {Object.entries(data.status[m.id] ?? {}).map(([agent, p]) => (
                  <PlacementBadge key={agent} agent={agent} p={p} />
                ))}
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function SettingsView() {
  return (
    <div class="page settings">
      <ProjectSettings />
      <LocalSettings />
      <McpServers />
      <RemoteAccess />
    </div>
  );
}
