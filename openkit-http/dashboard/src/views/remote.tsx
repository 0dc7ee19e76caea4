// Remote access: the ngrok tunnel to the gateway listener, one-time pairing links for a
// phone, and the signed-in sessions (revocable). Everything goes through `api/ngrok/*`,
// which a remote session reaches only with the admin scope.

import { useEffect, useState } from 'preact/hooks';
import { del, get, post, safeUrl } from '../api';
import { useAction } from '../action';

interface Tunnel {
  enabled: boolean;
  status: 'stopped' | 'starting' | 'running' | 'error';
  publicUrl: string | null;
  localPort: number | null;
  startedAt: string | null;
  error: string | null;
}

interface GatewaySession {
  id: string;
  userId: string;
  scope: Scope;
  kind: 'cookie' | 'bearer';
  createdAt: string;
  expiresAt: string;
  client: string;
}

type Scope = 'read' | 'write' | 'admin';

interface Pairing {
  pairUrl: string;
  expiresAt: string;
  scope: Scope;
}

/** Seconds left until `iso`, ticking once a second while shown. */
function useSecondsLeft(iso: string | null): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!iso) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [iso]);
  return iso ? Math.max(0, Math.round((Date.parse(iso) - now) / 1000)) : 0;
}

export function RemoteAccess() {
  const [tunnel, setTunnel] = useState<Tunnel | null>(null);
  const [sessions, setSessions] = useState<GatewaySession[]>([]);
  const [scope, setScope] = useState<Scope>('write');
  const [pairing, setPairing] = useState<Pairing | null>(null);
  const load = useAction();
  const act = useAction();
  const left = useSecondsLeft(pairing?.expiresAt ?? null);
  const loadRun = load.run;
  const reload = () =>
    void loadRun(async () => {
      const [status, list] = await Promise.all([
        get<{ tunnel: Tunnel }>('api/ngrok/status'),
        get<{ sessions: GatewaySession[] }>('api/ngrok/sessions'),
      ]);
      setTunnel(status.tunnel);
      setSessions(list.sessions);
    });
  useEffect(reload, [loadRun]);

  const pairUrl = pairing && left > 0 ? safeUrl(pairing.pairUrl) : null;
  return (
    <section class="settings-form" aria-label="Remote access" data-testid="remote-access">
      <h2>Remote access (ngrok)</h2>
      <p class="muted">
        A tunnel to the separate gateway port (never this API's), and a one-time link to open on your phone. The link works once, for 90 s.
      </p>
      {load.error && (
        <p class="error-text" role="alert">
          Could not load remote access: {load.error}
        </p>
      )}
      {tunnel && (
        <p data-testid="tunnel-status">
          Tunnel: <strong>{tunnel.status}</strong>
          {tunnel.publicUrl && <> at <code>{tunnel.publicUrl}</code></>}
          {tunnel.error && <span class="error-text"> ({tunnel.error})</span>}
        </p>
      )}
      <label>
        Access of the next device
        <select value={scope} onChange={(e) => setScope((e.target as HTMLSelectElement).value as Scope)}>
          <option value="read">Read only</option>
          <option value="write">Work (default)</option>
          <option value="admin">Admin</option>
        </select>
      </label>
      <div class="buttons">
        {act.error && (
          <span class="error-text" role="alert">
            {act.error}
          </span>
        )}
        <button
          type="button"
          class="primary"
          disabled={act.busy}
          onClick={async () => {
            const started = await act.run(() => post<Pairing>('api/ngrok/pairing/start', { scope }));
            if (started) setPairing(started);
            reload();
          }}
        >
          Create pairing link
        </button>
        {tunnel?.enabled && (
          <button
            type="button"
            disabled={act.busy}
            onClick={async () => {
              await act.run(() => post('api/ngrok/tunnel/disable', {}));
              setPairing(null);
              reload();
            }}
          >
            Stop tunnel
          </button>
        )}
      </div>
      {pairUrl && (
        <p data-testid="pair-url">
          Open on your phone ({pairing?.scope}, {left} s left): <a href={pairUrl} target="_blank" rel="noreferrer">{pairUrl}</a>
        </p>
      )}
      <h3>Signed-in devices</h3>
      {sessions.length === 0 && <p class="muted">Nobody is signed in remotely.</p>}
      {sessions.length > 0 && (
        <ul class="mcp-list">
          {sessions.map((s) => (
            <li key={s.id} data-session={s.id}>
              <div>
                <strong>{s.scope}</strong> <span class="muted">{s.kind === 'cookie' ? 'browser' : 'token'} from {s.client}, until {new Date(s.expiresAt).toLocaleString()}</span>
              </div>
              <div class="buttons">
                <button
                  type="button"
                  disabled={act.busy}
                  onClick={async () => {
                    await act.run(() => del(`api/ngrok/sessions/${encodeURIComponent(s.id)}`));
                    reload();
                  }}
                >
                  Sign out
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
