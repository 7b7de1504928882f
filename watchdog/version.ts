/** Version reported by `-version` and the first log line. */
export const VERSION = '0.1.0';
export const SHA = 'faas-ts';
