/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The client id; from data/sandbox.json unless set (see vite.config.ts). */
  readonly VITE_STABLEGATE_CLIENT_ID: string;
  /** The gateway's base URL; from data/sandbox.json unless set. */
  readonly VITE_STABLEGATE_BASE_URL: string;
}
