import { Component, render, type ComponentChildren } from 'preact';
import './style.css';
import { App } from './app';
import { startFeed } from './feed';

/** A bug in a view shows as a sentence with a way out, never as a blank page. */
class Boundary extends Component<{ children: ComponentChildren }, { error: Error | null }> {
  state = { error: null as Error | null };
  componentDidCatch(error: Error) {
    console.error('OpenKit dashboard:', error);
    this.setState({ error });
  }
  render() {
    if (!this.state.error) return this.props.children;
    return (
      <div class="banner banner-error" role="alert">
        The dashboard hit a bug and stopped drawing this view: {this.state.error.message}.{' '}
        <button type="button" class="small" onClick={() => location.reload()}>
          Reload
        </button>
      </div>
    );
  }
}

startFeed();
const root = document.getElementById('app')!;
root.textContent = '';
render(
  <Boundary>
    <App />
  </Boundary>,
  root,
);
