/** Inline SVG icons (no icon font, no external request; decorative, hidden from assistive tech). */
const base = {
  width: 16,
  height: 16,
  viewBox: '0 0 16 16',
  fill: 'none',
  stroke: 'currentColor',
  strokeWidth: 1.6,
  strokeLinecap: 'round',
  strokeLinejoin: 'round',
  'aria-hidden': true,
  focusable: false,
} as const;

export const SyncIcon = () => (
  <svg {...base}>
    <path d="M13.5 8a5.5 5.5 0 0 1-9.6 3.7M2.5 8a5.5 5.5 0 0 1 9.6-3.7" />
    <path d="M12.5 1.8v2.7H9.8M3.5 14.2v-2.7h2.7" />
  </svg>
);
export const PauseIcon = () => (
  <svg {...base}>
    <path d="M5.5 3.5v9M10.5 3.5v9" />
  </svg>
);
export const PlayIcon = () => (
  <svg {...base}>
    <path d="M5 3.2v9.6L12.5 8z" />
  </svg>
);
export const DownloadIcon = () => (
  <svg {...base}>
    <path d="M8 2.5v8M4.8 7.5 8 10.7l3.2-3.2M3 13.5h10" />
  </svg>
);
export const LockIcon = () => (
  <svg {...base}>
    <rect x="3.5" y="7" width="9" height="6.5" rx="1.2" />
    <path d="M5.5 7V5a2.5 2.5 0 0 1 5 0v2" />
  </svg>
);
export const UnlockIcon = () => (
  <svg {...base}>
    <rect x="3.5" y="7" width="9" height="6.5" rx="1.2" />
    <path d="M5.5 7V5a2.5 2.5 0 0 1 4.9-.7" />
  </svg>
);
export const CloseIcon = () => (
  <svg {...base}>
    <path d="M4 4l8 8M12 4l-8 8" />
  </svg>
);
export const CopyIcon = () => (
  <svg {...base}>
    <rect x="5.5" y="5.5" width="8" height="8" rx="1.2" />
    <path d="M10.5 5.5v-2a1 1 0 0 0-1-1h-6a1 1 0 0 0-1 1v6a1 1 0 0 0 1 1h2" />
  </svg>
);
export const FilterIcon = () => (
  <svg {...base}>
    <path d="M2.5 3.5h11l-4.2 5v4l-2.6 1.2V8.5z" />
  </svg>
);
export const ArrowDownIcon = () => (
  <svg {...base}>
    <path d="M8 3v10M4 9l4 4 4-4" />
  </svg>
);
export const CheckIcon = () => (
  <svg {...base}>
    <path d="M3.5 8.5l3 3 6-7" />
  </svg>
);
export const WarnIcon = () => (
  <svg {...base}>
    <path d="M8 2.2 14.2 13H1.8z" />
    <path d="M8 6.5v3M8 11.3v.2" />
  </svg>
);
export const LogoIcon = () => (
  <svg width="22" height="22" viewBox="0 0 32 32" aria-hidden focusable={false}>
    <rect width="32" height="32" rx="7" fill="var(--accent)" />
    <circle cx="16" cy="16" r="7" fill="none" stroke="#fff" strokeWidth="3" />
    <circle cx="16" cy="16" r="2.5" fill="#fff" />
  </svg>
);
