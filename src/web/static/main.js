// The studio page: a header with the steps of the story as tabs (hash routes, so reload and the back
// button keep the page), the language switch, and what runs in the background right now.
import { useEffect, useState } from 'preact/hooks';
import { api, getLang, html, Notices, render, setLang, t, useLang, usePoll } from './ui.js';
import { DataPage } from './page-data.js';
import { MethodPage } from './page-method.js';
import { TrainingPage } from './page-training.js';
import { EvalPage } from './page-eval.js';
import { PlaygroundPage } from './page-playground.js';
import { AssistantsPage } from './page-assistants.js';
import { ExportPage } from './page-export.js';

const PAGES = [
  { id: 'data', view: DataPage },
  { id: 'method', view: MethodPage },
  { id: 'training', view: TrainingPage },
  { id: 'evaluation', view: EvalPage },
  { id: 'playground', view: PlaygroundPage },
  { id: 'assistants', view: AssistantsPage },
  { id: 'export', view: ExportPage },
];

function currentRoute() {
  const [page, ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  return { page: PAGES.some((p) => p.id === page) ? page : 'data', arg: rest.join('/') || null };
}

function Activity() {
  const [active, setActive] = useState([]);
  usePoll(async () => setActive((await api('/api/info')).active), 5000, []);
  if (active.length === 0) return null;
  return html`<a class="activity" href=${`#/${active[0].kind === 'train' ? 'training' : active[0].kind === 'eval' ? 'evaluation' : 'export'}`}>
    <span class="pulse" aria-hidden="true"></span>${t(`active.${active[0].kind}`)}: ${active[0].label}</a>`;
}

function App() {
  const lang = useLang();
  const [route, setRoute] = useState(currentRoute());
  useEffect(() => {
    const on = () => {
      setRoute(currentRoute());
      // a new page: screen readers and keyboard users start at its content, not at the top bar
      document.getElementById('main').focus({ preventScroll: false });
    };
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  useEffect(() => {
    document.title = `${t(`nav.${route.page}`)} · shitate studio`;
  }, [route.page, lang]);
  const Page = PAGES.find((p) => p.id === route.page).view;
  return html`
    <a class="skip" href="#main">${t('skip')}</a>
    <header class="top">
      <div class="brand"><span class="mark" aria-hidden="true">仕</span><span>shitate studio</span></div>
      <nav aria-label=${t('nav.label')}>
        <ol class="tabs">
          ${PAGES.map((p, i) => html`<li><a href=${`#/${p.id}`} aria-current=${p.id === route.page ? 'page' : null} data-testid=${`nav-${p.id}`}>
            <span class="step" aria-hidden="true">${i + 1}</span>${t(`nav.${p.id}`)}</a></li>`)}
        </ol>
      </nav>
      <${Activity} />
      <div class="lang" role="group" aria-label=${t('lang.label')}>
        <button class=${lang === 'ja' ? 'on' : ''} aria-pressed=${lang === 'ja'} onClick=${() => setLang('ja')}>日本語</button>
        <button class=${lang === 'en' ? 'on' : ''} aria-pressed=${lang === 'en'} onClick=${() => setLang('en')}>English</button>
      </div>
    </header>
    <main id="main" tabindex="-1">
      <${Page} key=${route.page} arg=${route.arg} lang=${lang} />
    </main>
    <${Notices} />`;
}

document.documentElement.lang = getLang();
render(html`<${App} />`, document.getElementById('root'));
