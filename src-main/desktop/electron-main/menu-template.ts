import type { MenuItemConstructorOptions } from 'electron';
import type { DesktopAction, MenuItemModel } from '../menu-model.ts';

/**
 * Turns the plain menu model into Electron's template. The only place a menu item gets
 * a click handler, and every handler does the same thing: hand its action to `dispatch`.
 */
export function toMenuTemplate(
  items: readonly MenuItemModel[],
  dispatch: (action: DesktopAction) => void,
): MenuItemConstructorOptions[] {
  return items.map((item): MenuItemConstructorOptions => {
    switch (item.kind) {
      case 'label':
        return { label: item.label, enabled: false };
      case 'action':
        return {
          label: item.label,
          enabled: item.enabled,
          ...(item.accelerator ? { accelerator: item.accelerator } : {}),
          click: () => dispatch(item.action),
        };
      case 'checkbox':
        return { label: item.label, type: 'checkbox', checked: item.checked, click: () => dispatch(item.action) };
      case 'submenu':
        return { label: item.label, enabled: item.enabled, submenu: toMenuTemplate(item.items, dispatch) };
      case 'role':
        return {
          role: item.role,
          ...(item.label ? { label: item.label } : {}),
          ...(item.accelerator ? { accelerator: item.accelerator } : {}),
        };
      case 'separator':
        return { type: 'separator' };
    }
  });
}
