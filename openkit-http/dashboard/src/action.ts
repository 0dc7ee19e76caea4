// Running a call from a button: busy while it runs, its error as a sentence afterwards.

import { useCallback, useState } from 'preact/hooks';
import { errorText } from './api';

export interface Action {
  busy: boolean;
  error: string | null;
  setError: (e: string | null) => void;
  run: <T>(fn: () => Promise<T>) => Promise<T | undefined>;
}

export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(async <T,>(fn: () => Promise<T>) => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (e) {
      setError(errorText(e));
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}
