// What the whole page needs from the configuration: project name, notification types,
// shortcuts. Read at start and again after Settings saves.

import { get, type LocalConfig, type ProjectConfig } from './api';
import { setState } from './store';

/** Project name, notification types and shortcuts: read once, refreshed by Settings. */
export async function loadSettings(): Promise<void> {
  const [config, local] = await Promise.allSettled([
    get<{ config: ProjectConfig | null; projectName: string | null }>('api/config'),
    get<{ config: LocalConfig }>('api/local-config'),
  ]);
  if (config.status === 'fulfilled') {
    const events = config.value.config?.activity?.osNotificationEvents;
    setState({
      projectName: config.value.projectName,
      notificationEvents: Array.isArray(events) ? events : ['agent_awaiting_input'],
    });
  }
  if (local.status === 'fulfilled') setState({ localConfig: local.value.config });
}

