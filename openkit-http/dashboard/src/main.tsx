import { render } from 'preact';
import '@xterm/xterm/css/xterm.css';
import './style.css';
import { App } from './app';
import { startFeed } from './feed';

startFeed();
const root = document.getElementById('app')!;
root.textContent = '';
render(<App />, root);
