/**
 * Confirmation dialogs on the native <dialog> element: modal, focus kept
 * inside, Escape cancels, focus returns to the opener when closed.
 */
import { h, uid } from './dom.js';

/**
 * @param {{ title: string, message: string, confirmLabel: string, danger?: boolean,
 *   input?: { label: string, type?: string, value?: string, min?: number, max?: number, hint?: string,
 *             validate?: (v: string) => string | null } }} opts
 * @returns {Promise<{ value: string } | null>} null when cancelled
 */
export function confirmDialog(opts) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const titleId = uid('dlg-title');
    const descId = uid('dlg-desc');
    const errorId = uid('dlg-err');
    const inputId = uid('dlg-input');
    const error = h('p', { id: errorId, class: 'field-error', role: 'alert' });
    const input = opts.input
      ? h('input', {
          id: inputId,
          name: 'value',
          type: opts.input.type ?? 'text',
          value: opts.input.value ?? '',
          min: opts.input.min,
          max: opts.input.max,
          required: true,
          'aria-describedby': errorId,
        })
      : null;
    const confirm = h('button', { type: 'submit', class: opts.danger ? 'btn danger' : 'btn primary', value: 'confirm' }, opts.confirmLabel);
    const cancel = h('button', { type: 'button', class: 'btn', value: 'cancel' }, 'Cancel');
    const form = h(
      'form',
      { method: 'dialog', novalidate: true },
      h('h2', { id: titleId }, opts.title),
      h('p', { id: descId }, opts.message),
      input ? h('div', { class: 'field' }, h('label', { for: inputId }, opts.input.label), input, opts.input.hint ? h('p', { class: 'hint' }, opts.input.hint) : null, error) : null,
      h('div', { class: 'dialog-actions' }, cancel, confirm),
    );
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': titleId, 'aria-describedby': descId }, form);
    let result = null;
    form.addEventListener('submit', (ev) => {
      if (input && opts.input?.validate) {
        const problem = opts.input.validate(input.value);
        if (problem) {
          ev.preventDefault();
          error.textContent = problem;
          input.setAttribute('aria-invalid', 'true');
          input.focus();
          return;
        }
      }
      result = { value: input ? input.value : '' };
    });
    cancel.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      dialog.remove();
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
      resolve(result);
    });
    document.body.append(dialog);
    dialog.showModal();
    (input ?? cancel).focus();
    if (input) input.select?.();
  });
}
