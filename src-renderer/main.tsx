import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { DashboardController } from './connection/controller.ts';
import { App } from './ui/App.tsx';
import { ControllerContext } from './ui/hooks.ts';

const controller = new DashboardController();
const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');

createRoot(root).render(
  <StrictMode>
    <ControllerContext.Provider value={controller}>
      <App />
    </ControllerContext.Provider>
  </StrictMode>,
);
void controller.start();
window.addEventListener('pagehide', () => controller.stop());
// A page restored from the back/forward cache had its stream stopped: start afresh.
window.addEventListener('pageshow', (event) => {
  if (event.persisted) location.reload();
});
