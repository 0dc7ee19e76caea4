// A worktree's changes: the changed files (`GET .../diff`), one file's diff computed here
// from its old and new contents (`GET .../diff/file`), and the ship actions: commit, push,
// create a pull request. Plain DOM, no editor: the page stays light.

import { useCallback, useEffect, useState } from 'preact/hooks';
import { get, post, safeUrl, seg, type WorktreeInfo } from '../api';
import { useAction } from '../action';

type FileStatus = 'modified' | 'added' | 'deleted' | 'renamed' | 'untracked';

interface DiffFile {
  path: string;
  status: FileStatus;
  linesAdded: number;
  linesRemoved: number;
  isBinary: boolean;
  oldPath?: string;
}

const STATUS: Record<FileStatus, { letter: string; tone: string }> = {
  modified: { letter: 'M', tone: 'warning' },
  added: { letter: 'A', tone: 'success' },
  untracked: { letter: 'U', tone: 'success' },
  deleted: { letter: 'D', tone: 'error' },
  renamed: { letter: 'R', tone: 'info' },
};

/** One line of a unified diff: context, removed, added, or a fold of unchanged lines. */
export type DiffLine =
  | { kind: 'same' | 'del' | 'add'; text: string; old?: number; new?: number }
  | { kind: 'fold'; count: number };

/** Above this many cells (old × new changed lines) the diff shows both sides whole. */
const MAX_CELLS = 4_000_000;
const CONTEXT = 3;

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** A unified line diff of `oldText` → `newText` (longest common subsequence), folded. */
export function lineDiff(oldText: string, newText: string): DiffLine[] {
  const a = splitLines(oldText);
  const b = splitLines(newText);
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const n = endA - start;
  const m = endB - start;
  const middle: ('same' | 'del' | 'add')[] = [];
  if (n * m > MAX_CELLS) {
    middle.push(...Array<'del'>(n).fill('del'), ...Array<'add'>(m).fill('add'));
  } else {
    // lcs[i][j]: longest common subsequence of a[start+i..endA] and b[start+j..endB].
    const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--)
      for (let j = m - 1; j >= 0; j--)
        lcs[i][j] = a[start + i] === b[start + j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[start + i] === b[start + j]) {
        middle.push('same');
        i++;
        j++;
      } else if (j < m && (i === n || lcs[i][j + 1] >= lcs[i + 1][j])) {
        middle.push('add');
        j++;
      } else {
        middle.push('del');
        i++;
      }
    }
  }
  const ops = [...Array<'same'>(start).fill('same'), ...middle, ...Array<'same'>(a.length - endA).fill('same')];
  const lines: DiffLine[] = [];
  let oi = 0;
  let ni = 0;
  for (const op of ops) {
    if (op === 'same') lines.push({ kind: 'same', text: a[oi], old: ++oi, new: ++ni });
    else if (op === 'del') lines.push({ kind: 'del', text: a[oi], old: ++oi });
    else lines.push({ kind: 'add', text: b[ni], new: ++ni });
  }
  return fold(lines);
}

/** Unchanged runs longer than twice the context become one fold line. */
function fold(lines: DiffLine[]): DiffLine[] {
  const out: DiffLine[] = [];
  let i = 0;
  while (i < lines.length) {
    if (lines[i].kind !== 'same') {
      out.push(lines[i++]);
      continue;
    }
    let j = i;
    while (j < lines.length && lines[j].kind === 'same') j++;
    const keepHead = i === 0 ? 0 : CONTEXT;
    const keepTail = j === lines.length ? 0 : CONTEXT;
    if (j - i > keepHead + keepTail + 1) {
      out.push(...lines.slice(i, i + keepHead), { kind: 'fold', count: j - i - keepHead - keepTail }, ...lines.slice(j - keepTail, j));
    } else {
      out.push(...lines.slice(i, j));
    }
    i = j;
  }
  return out;
}

function FileDiff({ w, file, includeCommitted }: { w: WorktreeInfo; file: DiffFile; includeCommitted: boolean }) {
  const [lines, setLines] = useState<DiffLine[] | null>(null);
  const load = useAction();
  const run = load.run;
  useEffect(() => {
    setLines(null);
    if (file.isBinary) return;
    const q = new URLSearchParams({ path: file.path, status: file.status });
    if (file.oldPath) q.set('oldPath', file.oldPath);
    if (includeCommitted) q.set('includeCommitted', 'true');
    void run(async () => {
      const r = await get<{ oldContent: string; newContent: string }>(`api/worktrees/${seg(w.id)}/diff/file?${q}`);
      setLines(lineDiff(r.oldContent, r.newContent));
    });
  }, [w.id, file.path, file.status, file.oldPath, includeCommitted, run]);
  return (
    <div class="file-diff" data-testid="file-diff">
      <div class="file-diff-head">
        <strong>{file.path}</strong>
        {file.oldPath && <span class="muted"> (from {file.oldPath})</span>}
      </div>
      {file.isBinary ? (
        <p class="muted pad">Binary file: no line diff.</p>
      ) : load.error ? (
        <p class="error-text" role="alert">
          Could not load the diff of {file.path}: {load.error}
        </p>
      ) : lines === null ? (
        <p class="muted pad">Loading…</p>
      ) : lines.length === 0 ? (
        <p class="muted pad">No line changed (mode or whitespace only).</p>
      ) : (
        <div class="diff-lines" role="table" aria-label={`Diff of ${file.path}`}>
          {lines.map((l, i) =>
            l.kind === 'fold' ? (
              <div key={i} class="dl fold" role="row">
                <span class="ln" />
                <span class="ln" />
                <span class="code">⋯ {l.count} unchanged lines</span>
              </div>
            ) : (
              <div key={i} class={`dl ${l.kind}`} role="row">
                <span class="ln">{l.old ?? ''}</span>
                <span class="ln">{l.new ?? ''}</span>
                <span class="code">
                  <span class="sign" aria-hidden="true">
                    {l.kind === 'add' ? '+' : l.kind === 'del' ? '-' : ' '}
                  </span>
                  {l.text}
                </span>
              </div>
            ),
          )}
        </div>
      )}
    </div>
  );
}

function ShipActions({ w, onShipped }: { w: WorktreeInfo; onShipped: () => void }) {
  const [message, setMessage] = useState('');
  const [title, setTitle] = useState('');
  const [body, setBody] = useState('');
  const [done, setDone] = useState<{ commit?: string; push?: string; pr?: string } | null>(null);
  const commit = useAction();
  const push = useAction();
  const pr = useAction();
  const pushed = (what: Partial<NonNullable<typeof done>>) => setDone((d) => ({ ...d, ...what }));
  return (
    <div class="ship">
      <form
        class="ship-row"
        aria-label="Commit"
        onSubmit={async (e) => {
          e.preventDefault();
          const r = await commit.run(() => post<{ commit: string; message: string }>(`api/worktrees/${seg(w.id)}/commit`, { message }));
          if (r) {
            setMessage('');
            pushed({ commit: `Committed ${r.commit.slice(0, 7)}: ${r.message.split('\n')[0]}` });
            onShipped();
          }
        }}
      >
        <input
          aria-label="Commit message"
          placeholder="Commit message"
          value={message}
          onInput={(e) => setMessage((e.target as HTMLInputElement).value)}
        />
        <button type="submit" class="primary" disabled={commit.busy}>
          {commit.busy ? 'Committing…' : 'Commit'}
        </button>
        {commit.error ? (
          <span class="error-text" role="alert" data-testid="commit-error">
            {commit.error}
          </span>
        ) : (
          done?.commit && <span class="tone-success-text" data-testid="commit-done">{done.commit}</span>
        )}
      </form>
      <div class="ship-row">
        <button
          type="button"
          disabled={push.busy}
          onClick={async () => {
            const r = await push.run(() => post<{ upstream: string }>(`api/worktrees/${seg(w.id)}/push`));
            if (r) {
              pushed({ push: `Pushed to ${r.upstream}.` });
              onShipped();
            }
          }}
        >
          {push.busy ? 'Pushing…' : 'Push'}
        </button>
        {push.error ? (
          <span class="error-text" role="alert" data-testid="push-error">
            {push.error}
          </span>
        ) : (
          done?.push && <span class="tone-success-text">{done.push}</span>
        )}
      </div>
      <details class="ship-pr">
        <summary>Create pull request…</summary>
        <form
          class="pr-form"
          aria-label="Create pull request"
          onSubmit={async (e) => {
            e.preventDefault();
            const r = await pr.run(() => post<{ url: string; number: number }>(`api/worktrees/${seg(w.id)}/create-pr`, { title, body: body || undefined }));
            if (r) pushed({ pr: r.url });
          }}
        >
          <input aria-label="Pull request title" placeholder="Title" required value={title} onInput={(e) => setTitle((e.target as HTMLInputElement).value)} />
          <textarea aria-label="Pull request description" placeholder="Description (Markdown)" rows={3} value={body} onInput={(e) => setBody((e.target as HTMLTextAreaElement).value)} />
          <div class="ship-row">
            <button type="submit" disabled={pr.busy}>
              {pr.busy ? 'Creating…' : 'Create PR'}
            </button>
            {pr.error ? (
              <span class="error-text" role="alert" data-testid="pr-error">
                {pr.error}
              </span>
            ) : (
              done?.pr &&
              (safeUrl(done.pr) ? (
                <a href={safeUrl(done.pr)!} target="_blank" rel="noreferrer">
                  {done.pr}
                </a>
              ) : (
                <span>{done.pr}</span>
              ))
            )}
          </div>
        </form>
      </details>
    </div>
  );
}

export function Changes({ w }: { w: WorktreeInfo }) {
  const [includeCommitted, setIncludeCommitted] = useState(false);
  const [listed, setListed] = useState<{ files: DiffFile[]; base: string } | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const load = useAction();
  const run = load.run;
  const refresh = useCallback(
    () =>
      void run(async () => {
        const r = await get<{ files: DiffFile[]; baseBranch: string }>(`api/worktrees/${seg(w.id)}/diff${includeCommitted ? '?includeCommitted=true' : ''}`);
        setListed({ files: r.files, base: r.baseBranch });
      }),
    [w.id, includeCommitted, run],
  );
  // The list event says when the git state moved: reload then.
  useEffect(refresh, [refresh, w.hasUncommitted, w.commitsAhead, w.commitsAheadOfBase, w.branch]);
  const files = listed?.files ?? [];
  const file = files.find((f) => f.path === selected) ?? null;
  return (
    <div class="changes" data-testid="changes">
      <div class="toolbar wrap">
        <label class="check">
          <input type="checkbox" checked={includeCommitted} onChange={(e) => setIncludeCommitted((e.target as HTMLInputElement).checked)} />
          Include commits since {listed?.base || 'the base branch'}
        </label>
        <span class="spacer" />
        <button type="button" class="small" disabled={load.busy} onClick={refresh}>
          Refresh
        </button>
      </div>
      {load.error && (
        <p class="error-text" role="alert">
          Could not list the changes: {load.error}
        </p>
      )}
      {listed === null && !load.error ? (
        <p class="muted pad">Loading…</p>
      ) : files.length === 0 ? (
        <p class="muted pad" data-testid="no-changes">
          {includeCommitted ? `Nothing differs from ${listed?.base ?? 'the base branch'}.` : 'No uncommitted changes.'}
        </p>
      ) : (
        <ul class="file-list" aria-label="Changed files" data-testid="changed-files">
          {files.map((f) => {
            const st = STATUS[f.status] ?? { letter: '?', tone: 'muted' };
            return (
              <li key={f.path}>
                <button type="button" class={`file${f.path === selected ? ' active' : ''}`} aria-pressed={f.path === selected} onClick={() => setSelected(f.path === selected ? null : f.path)}>
                  <span class={`badge tone-${st.tone} status`} title={f.status}>
                    {st.letter}
                  </span>
                  <span class="file-path" title={f.oldPath ? `${f.oldPath} → ${f.path}` : f.path}>
                    {f.path}
                  </span>
                  {f.isBinary ? (
                    <span class="badge muted">binary</span>
                  ) : (
                    <span class="counts">
                      <span class="tone-success-text">+{f.linesAdded}</span> <span class="error-text">−{f.linesRemoved}</span>
                    </span>
                  )}
                </button>
              </li>
            );
          })}
        </ul>
      )}
      {file && <FileDiff key={`${file.path}:${includeCommitted}`} w={w} file={file} includeCommitted={includeCommitted} />}
      <ShipActions w={w} onShipped={refresh} />
    </div>
  );
}
