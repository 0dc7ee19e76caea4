// Hash routes (`#/`, `#/w/<id>/<tab>`, `#/activity`, ...): the page itself never moves,
// so its relative asset and API URLs hold wherever the server mounts it.

import { useEffect, useState } from 'preact/hooks';

export type DetailTab = 'terminals' | 'changes' | 'hooks' | 'server' | 'activity';

export type Route =
  | { view: 'worktrees'; id?: string; tab: DetailTab; session?: string }
  | { view: 'activity' }
  | { view: 'perf' }
  | { view: 'tasks' }
  | { view: 'settings' };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  switch (parts[0]) {
    case 'w': {
      const tab = (['terminals', 'changes', 'hooks', 'server', 'activity'] as const).find((t) => t === parts[2]) ?? 'terminals';
      // `#/w/<id>/terminals/<session>`: that terminal session selected.
      if (tab === 'terminals' && parts[3]) return { view: 'worktrees', id: parts[1], tab, session: parts[3] };
      return { view: 'worktrees', id: parts[1], tab };
    }
    case 'activity':
    case 'perf':
    case 'tasks':
    case 'settings':
      return { view: parts[0] };
    default:
      return { view: 'worktrees', tab: 'terminals' };
  }
}

export function href(route: Route): string {
  if (route.view !== 'worktrees') return `#/${route.view}`;
  if (!route.id) return '#/';
  if (route.tab === 'terminals' && route.session) return `#/w/${encodeURIComponent(route.id)}/terminals/${encodeURIComponent(route.session)}`;
  return `#/w/${encodeURIComponent(route.id)}${route.tab === 'terminals' ? '' : `/${route.tab}`}`;
}

export function go(route: Route): void {
  location.hash = href(route);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}
