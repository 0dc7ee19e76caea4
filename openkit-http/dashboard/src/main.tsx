import { render } from 'preact';
import './style.css';
import { App } from './app';
import { startFeed } from './feed';

startFeed();
const root = document.getElementById('app')!;
root.textContent = '';
render(<App />, root);
