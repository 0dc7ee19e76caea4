// The OpenKit REST API as the dashboard uses it. Every URL is relative to the page, so
// the dashboard works at `/` and behind a gateway prefix alike.

export type WorktreeStatus = 'running' | 'stopped' | 'starting' | 'creating';

export interface WorktreeInfo {
  id: string;
  path: string;
  branch: string;
  status: WorktreeStatus;
  ports: number[];
  offset: number | null;
  pid: number | null;
  lastActivity: string | null;
  jiraUrl: string | null;
  jiraStatus: string | null;
  githubPrUrl: string | null;
  githubPrState: string | null;
  linearUrl: string | null;
  linearStatus: string | null;
  localIssueId: string | null;
  localIssueStatus: string | null;
  issueSource?: string;
  issueId?: string;
  issueUrl?: string;
  issueStatus?: string;
  hasUncommitted: boolean;
  hasUnpushed: boolean;
  commitsAhead: number;
  commitsAheadOfBase: number | null;
  isRoot?: boolean;
  /** Its agent sessions and what each is doing; absent when it has none. */
  agentSessions?: AgentSession[];
}

export type AgentState = 'starting' | 'working' | 'waiting-for-input' | 'idle' | 'exited';

/** One agent session of a worktree (attach at `api/terminals/{sessionId}/ws`). */
export interface AgentSession {
  sessionId: string;
  agent: string;
  state: AgentState;
  source: 'hook' | 'screen' | 'process';
  since: string;
  message?: string;
  exitCode?: number;
}

export type Severity = 'info' | 'success' | 'warning' | 'error';
export type Category = 'agent' | 'worktree' | 'system';

export interface ActivityEvent {
  id: string;
  timestamp: string;
  category: Category;
  type: string;
  severity: Severity;
  title: string;
  detail?: string | null;
  worktreeId?: string | null;
  projectName?: string | null;
  groupKey?: string | null;
  metadata?: Record<string, unknown> | null;
}

export interface OpsLogEvent {
  id: string;
  timestamp: string;
  source: string;
  action: string;
  message: string;
  level: 'debug' | 'info' | 'warning' | 'error';
  status: string;
  worktreeId?: string | null;
  command?: { command: string; args: string[]; exitCode?: number | null; durationMs?: number } | null;
}

export type FeedEvent =
  | { type: 'worktrees'; worktrees: WorktreeInfo[] }
  | { type: 'activity-history'; events: ActivityEvent[] }
  | { type: 'activity'; event: ActivityEvent }
  | { type: 'ops-log-history'; events: OpsLogEvent[] }
  | { type: 'ops-log'; event: OpsLogEvent }
  | { type: 'hook-update'; worktreeId: string; run?: unknown; skillReport?: unknown; stepReport?: unknown };

export interface ProcessMetrics {
  pid: number;
  name: string;
  cpu: number;
  memory: number;
}

export interface WorktreeMetrics {
  worktreeId: string;
  devServer: ProcessMetrics | null;
  childProcesses: ProcessMetrics[];
  agentSessions: ProcessMetrics[];
  totalCpu: number;
  totalMemory: number;
}

export interface PerfSnapshot {
  timestamp: string;
  server: ProcessMetrics;
  system: { totalCpu: number; totalMemory: number; processCount: number };
  worktrees: WorktreeMetrics[];
}

export interface Task {
  id: string;
  identifier: string;
  title: string;
  description: string;
  status: 'todo' | 'in-progress' | 'done';
  priority: 'high' | 'medium' | 'low';
  labels: string[];
  linkedWorktreeId: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ProjectConfig {
  startCommand: string;
  installCommand: string;
  baseBranch: string;
  autoInstall: boolean;
  localIssuePrefix: string;
  activity?: { osNotificationEvents?: string[] } & Record<string, unknown>;
  [key: string]: unknown;
}

export interface LocalConfig {
  allowAgentCommits?: boolean;
  allowAgentPushes?: boolean;
  allowAgentPRs?: boolean;
  arrowNavEnabled?: boolean;
  shortcuts?: Record<string, string>;
  [key: string]: unknown;
}

/** A failed call: the server's sentence and code, or what went wrong on the way. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** A path of the API (`api/...`) as a URL relative to the page. */
export function apiPath(path: string): string {
  return path.replace(/^\/+/, '');
}

/** The absolute URL of an API path, resolved against the page (for WebSockets). */
export function apiUrl(path: string, scheme?: 'ws'): string {
  const url = new URL(apiPath(path), document.baseURI);
  if (scheme === 'ws') url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

/** Calls the API; resolves with the JSON body, rejects with an [`ApiError`]. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(apiPath(path), {
      method,
      headers: body === undefined ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(`Could not reach the OpenKit server (${(e as Error).message}).`, 0, 'NETWORK');
  }
  const text = await response.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON: reported below from the status.
  }
  if (!response.ok) {
    const envelope = (json ?? {}) as { error?: string; code?: string };
    throw new ApiError(
      envelope.error ?? `The server answered ${response.status} ${response.statusText}.`,
      response.status,
      envelope.code ?? `HTTP_${response.status}`,
    );
  }
  return json as T;
}

export const get = <T>(path: string) => api<T>('GET', path);
export const post = <T>(path: string, body: unknown = {}) => api<T>('POST', path, body);
export const patch = <T>(path: string, body: unknown) => api<T>('PATCH', path, body);
export const del = <T>(path: string) => api<T>('DELETE', path);

/** `url` when it is an http(s) URL (tracker and PR links come from files and trackers). */
export function safeUrl(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.toString() : null;
  } catch {
    return null;
  }
}

/** `encodeURIComponent` for a path segment. */
export const seg = encodeURIComponent;

/** The message of anything thrown, as a sentence. */
export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
