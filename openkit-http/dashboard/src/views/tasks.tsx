// Local tasks and their notes (personal notes, AI context, todos): create, change status,
// start a worktree from one.

import { useEffect, useState } from 'preact/hooks';
import { api, del, get, patch, post, seg, type Task } from '../api';
import { useAction } from '../action';
import { ago } from '../format';
import { go, href } from '../route';
import { useStore } from '../store';

interface Todo {
  id: string;
  text: string;
  checked: boolean;
}

type Policy = 'inherit' | 'allow' | 'deny';

interface Notes {
  personal: { content: string } | null;
  aiContext: { content: string } | null;
  todos: Todo[];
  gitPolicy: { agentCommits: Policy; agentPushes: Policy; agentPRs: Policy };
}

const POLICY_FIELDS: { key: keyof Notes['gitPolicy']; label: string }[] = [
  { key: 'agentCommits', label: 'Agents commit' },
  { key: 'agentPushes', label: 'Agents push' },
  { key: 'agentPRs', label: 'Agents open PRs' },
];

function Section({ task, section, label, initial, onSaved }: { task: string; section: 'personal' | 'aiContext'; label: string; initial: string; onSaved: (n: Notes) => void }) {
  const [text, setText] = useState(initial);
  const action = useAction();
  useEffect(() => setText(initial), [initial]);
  return (
    <label class="notes-section">
      {label}
      <textarea rows={4} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
      <span class="buttons">
        {action.error && (
          <span class="error-text" role="alert">
            Could not save: {action.error}
          </span>
        )}
        <button
          type="button"
          class="small"
          disabled={action.busy || text === initial}
          onClick={async () => {
            const n = await action.run(() => putSection(task, section, text));
            if (n) onSaved(n);
          }}
        >
          Save
        </button>
      </span>
    </label>
  );
}

function putSection(task: string, section: string, content: string): Promise<Notes> {
  return api<Notes>('PUT', `api/notes/local/${seg(task)}`, { section, content });
}

function TaskNotes({ task }: { task: Task }) {
  const [notes, setNotes] = useState<Notes | null>(null);
  const [todo, setTodo] = useState('');
  const load = useAction();
  const act = useAction();
  const base = `api/notes/local/${seg(task.id)}`;
  const loadRun = load.run;
  useEffect(() => {
    void loadRun(async () => setNotes(await get<Notes>(base)));
  }, [base, loadRun]);
  if (load.error)
    return (
      <p class="error-text" role="alert">
        Could not load the notes: {load.error}
      </p>
    );
  if (!notes) return <p class="muted">Loading notes…</p>;
  return (
    <div class="notes">
      {task.description && <p class="description">{task.description}</p>}
      <Section task={task.id} section="personal" label="Notes" initial={notes.personal?.content ?? ''} onSaved={setNotes} />
      <Section task={task.id} section="aiContext" label="AI context (shown to agents by `openkit task context`)" initial={notes.aiContext?.content ?? ''} onSaved={setNotes} />
      <div class="todos">
        <strong>Todos</strong>
        <ul>
          {notes.todos.map((t) => (
            <li key={t.id}>
              <label class="check">
                <input type="checkbox" checked={t.checked} onChange={async () => setNotes((await act.run(() => patch<Notes>(`${base}/todos/${seg(t.id)}`, { checked: !t.checked }))) ?? notes)} />
                {t.text}
              </label>
              <button type="button" class="link" aria-label={`Delete todo ${t.text}`} onClick={async () => setNotes((await act.run(() => del<Notes>(`${base}/todos/${seg(t.id)}`))) ?? notes)}>
                ×
              </button>
            </li>
          ))}
        </ul>
        <form
          class="inline-form"
          onSubmit={async (e) => {
            e.preventDefault();
            if (!todo.trim()) return;
            const n = await act.run(() => post<Notes>(`${base}/todos`, { text: todo.trim() }));
            if (n) {
              setNotes(n);
              setTodo('');
            }
          }}
        >
          <input placeholder="New todo" aria-label="New todo" value={todo} onInput={(e) => setTodo((e.target as HTMLInputElement).value)} />
          <button type="submit" class="small">
            Add
          </button>
        </form>
        {act.error && (
          <p class="error-text" role="alert">
            {act.error}
          </p>
        )}
      </div>
      <div class="policy" aria-label="Git policy for agents">
        <strong>Git policy</strong>
        {POLICY_FIELDS.map((f) => (
          <label key={f.key}>
            {f.label}
            <select
              value={notes.gitPolicy?.[f.key] ?? 'inherit'}
              onChange={async (e) => setNotes((await act.run(() => patch<Notes>(`${base}/git-policy`, { [f.key]: (e.target as HTMLSelectElement).value }))) ?? notes)}
            >
              <option value="inherit">as in local config</option>
              <option value="allow">allow</option>
              <option value="deny">deny</option>
            </select>
          </label>
        ))}
      </div>
    </div>
  );
}

function TaskRow({ task, onChanged }: { task: Task; onChanged: () => void }) {
  const [open, setOpen] = useState(false);
  const action = useAction();
  return (
    <li class="task">
      <div class="task-head">
        <button type="button" class="link" aria-expanded={open} onClick={() => setOpen(!open)}>
          <strong>{task.id}</strong> {task.title}
        </button>
        <span class={`badge prio-${task.priority}`}>{task.priority}</span>
        <select
          aria-label={`Status of ${task.id}`}
          value={task.status}
          onChange={async (e) => {
            const status = (e.target as HTMLSelectElement).value;
            if (await action.run(() => patch(`api/tasks/${seg(task.id)}`, { status }))) onChanged();
          }}
        >
          <option value="todo">todo</option>
          <option value="in-progress">in progress</option>
          <option value="done">done</option>
        </select>
        {task.linkedWorktreeId ? (
          <a href={href({ view: 'worktrees', id: task.linkedWorktreeId, tab: 'terminals' })}>{task.linkedWorktreeId}</a>
        ) : (
          <button
            type="button"
            class="small"
            disabled={action.busy}
            onClick={async () => {
              const r = await action.run(() => post<{ worktree?: { id: string }; worktreeId?: string }>(`api/tasks/${seg(task.id)}/create-worktree`, {}));
              if (r) go({ view: 'worktrees', id: r.worktree?.id ?? r.worktreeId ?? task.id, tab: 'terminals' });
            }}
          >
            Create worktree
          </button>
        )}
        <span class="muted">{ago(task.updatedAt)}</span>
      </div>
      {action.error && (
        <p class="error-text" role="alert">
          {action.error}
        </p>
      )}
      {open && <TaskNotes task={task} />}
    </li>
  );
}

export function TasksView() {
  const [tasks, setTasks] = useState<Task[] | null>(null);
  const [title, setTitle] = useState('');
  const load = useAction();
  const create = useAction();
  // Links change with the worktree list: reload then (no polling).
  const worktrees = useStore((s) => s.worktrees);
  const loadRun = load.run;
  const reload = () => void loadRun(async () => setTasks((await get<{ tasks: Task[] }>('api/tasks')).tasks));
  useEffect(reload, [worktrees, loadRun]);
  return (
    <section class="page" aria-label="Tasks">
      <form
        class="toolbar"
        onSubmit={async (e) => {
          e.preventDefault();
          if (!title.trim()) return;
          if (await create.run(() => post('api/tasks', { title: title.trim() }))) {
            setTitle('');
            reload();
          }
        }}
      >
        <input placeholder="New task title" aria-label="New task title" value={title} onInput={(e) => setTitle((e.target as HTMLInputElement).value)} />
        <button type="submit" class="primary" disabled={create.busy}>
          Add task
        </button>
      </form>
      {create.error && (
        <p class="error-text" role="alert">
          Could not create the task: {create.error}
        </p>
      )}
      {load.error && (
        <p class="error-text" role="alert">
          Could not load the tasks: {load.error}
        </p>
      )}
      {tasks && tasks.length === 0 && <p class="muted pad">No local tasks yet.</p>}
      <ul class="tasks">
        {(tasks ?? []).map((t) => (
          <TaskRow key={t.id} task={t} onChanged={reload} />
        ))}
      </ul>
    </section>
  );
}
