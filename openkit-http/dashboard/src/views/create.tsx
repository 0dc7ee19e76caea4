// One dialog to create a worktree: from a branch, from a new local task, from an
// existing task, or from an issue of a configured tracker.

import { useEffect, useRef, useState } from 'preact/hooks';
import { get, post, seg, type Task, type WorktreeInfo } from '../api';
import { useAction } from '../action';
import { IssuePicker, startIssueWorktree, useConfiguredTrackers, type PickedIssue } from './issue-picker';

type Source = 'branch' | 'new-task' | 'task' | 'issue';

interface Created {
  worktree?: WorktreeInfo;
  worktreeId?: string;
}

export function CreateWorktreeDialog({ onClose }: { onClose: (createdId?: string) => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const first = useRef<HTMLInputElement>(null);
  const [source, setSource] = useState<Source>('branch');
  const [branch, setBranch] = useState('');
  const [id, setId] = useState('');
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [tasks, setTasks] = useState<Task[] | null>(null);
  const [taskId, setTaskId] = useState('');
  const [issue, setIssue] = useState<PickedIssue | null>(null);
  const trackers = useConfiguredTrackers();
  const action = useAction();
  const tasksLoad = useAction();

  useEffect(() => {
    dialog.current?.showModal();
    first.current?.focus();
  }, []);

  const loadTasks = tasksLoad.run;
  useEffect(() => {
    if (source !== 'task' || tasks) return;
    void loadTasks(async () => {
      const list = await get<{ tasks: Task[] }>('api/tasks');
      const open = list.tasks.filter((t) => !t.linkedWorktreeId);
      setTasks(open);
      if (open[0]) setTaskId(open[0].id);
    });
  }, [source, tasks, loadTasks]);

  const submit = async (e: Event) => {
    e.preventDefault();
    const created = await action.run(async (): Promise<string> => {
      if (source === 'branch') {
        const body: Record<string, string> = { branch: branch.trim() };
        if (id.trim()) body.id = id.trim();
        const r = await post<Created>('api/worktrees', body);
        return r.worktree?.id ?? body.id ?? body.branch;
      }
      if (source === 'issue') {
        if (!issue) throw new Error('Pick an issue first.');
        return startIssueWorktree(issue, branch.trim());
      }
      let task = taskId;
      if (source === 'new-task') {
        const r = await post<{ task: Task }>('api/tasks', { title: title.trim(), description: description.trim() || undefined });
        task = r.task.id;
      }
      const body = branch.trim() ? { branch: branch.trim() } : {};
      const r = await post<Created>(`api/tasks/${seg(task)}/create-worktree`, body);
      return r.worktree?.id ?? r.worktreeId ?? task;
    });
    if (created) onClose(created);
  };

  const tab = (s: Source, label: string) => (
    <button type="button" role="tab" aria-selected={source === s} class={source === s ? 'tab active' : 'tab'} onClick={() => setSource(s)}>
      {label}
    </button>
  );

  return (
    <dialog ref={dialog} class="dialog" aria-labelledby="create-title" data-trackers={trackers?.join(' ')} onClose={() => onClose()} onCancel={() => onClose()}>
      <form method="dialog" onSubmit={submit}>
        <h2 id="create-title">New worktree</h2>
        <div class="tabs" role="tablist">
          {tab('branch', 'From a branch')}
          {tab('new-task', 'New local task')}
          {tab('task', 'Existing task')}
          {trackers && trackers.length > 0 && tab('issue', 'From issue')}
        </div>
        {source === 'branch' && (
          <>
            <label>
              Branch
              <input ref={first} name="branch" required value={branch} placeholder="feature/login-form" autocomplete="off" onInput={(e) => setBranch((e.target as HTMLInputElement).value)} />
            </label>
            <label>
              Id <span class="muted">(optional, derived from the branch)</span>
              <input name="id" value={id} autocomplete="off" onInput={(e) => setId((e.target as HTMLInputElement).value)} />
            </label>
          </>
        )}
        {source === 'new-task' && (
          <>
            <label>
              Task title
              <input name="title" required value={title} autocomplete="off" onInput={(e) => setTitle((e.target as HTMLInputElement).value)} />
            </label>
            <label>
              Description <span class="muted">(optional)</span>
              <textarea name="description" rows={3} value={description} onInput={(e) => setDescription((e.target as HTMLTextAreaElement).value)} />
            </label>
          </>
        )}
        {source === 'task' &&
          (tasksLoad.error ? (
            <p class="error-text" role="alert">
              Could not load the tasks: {tasksLoad.error}
            </p>
          ) : tasks === null ? (
            <p class="muted">Loading tasks…</p>
          ) : tasks.length === 0 ? (
            <p class="muted">Every local task already has a worktree. Create a new one instead.</p>
          ) : (
            <label>
              Task
              <select name="task" value={taskId} onChange={(e) => setTaskId((e.target as HTMLSelectElement).value)}>
                {tasks.map((t) => (
                  <option key={t.id} value={t.id}>
                    {t.id} — {t.title}
                  </option>
                ))}
              </select>
            </label>
          ))}
        {source === 'issue' && trackers && trackers.length > 0 && <IssuePicker trackers={trackers} picked={issue} onPick={setIssue} />}
        {source !== 'branch' && (
          <label>
            Branch <span class="muted">(optional, from the branch-name rule)</span>
            <input name="task-branch" value={branch} autocomplete="off" onInput={(e) => setBranch((e.target as HTMLInputElement).value)} />
          </label>
        )}
        {action.error && (
          <p class="error-text" role="alert" data-testid="create-error">
            Could not create the worktree: {action.error}
          </p>
        )}
        <div class="buttons">
          <button
            type="button"
            onClick={() => {
              dialog.current?.close();
            }}
          >
            Cancel
          </button>
          <button type="submit" class="primary" disabled={action.busy || (source === 'task' && !taskId) || (source === 'issue' && !issue)}>
            {action.busy ? 'Creating…' : source === 'issue' ? 'Start' : 'Create'}
          </button>
        </div>
      </form>
    </dialog>
  );
}
