import type { PaymentLanguage } from "./messages.ts";
import { PaymentProvider, type PaymentProviderProps } from "./payment-provider.tsx";

/**
 * `KryptogoKitProvider`'s props: ours, plus every prop of KryptoGO's provider
 * (`@kryptogo/kryptogokit-sdk-react`), so that code written for it compiles and runs unchanged
 * but for the import and `baseUrl`. `locale` chooses the language; the others concern KryptoGO's
 * wallet kit (wagmi chains, themes, its login) and are accepted and ignored.
 */
export interface KryptogoKitProviderProps extends PaymentProviderProps {
  /**
   * KryptoGO's locale, e.g. `"zh-TW"` or `"en-US"`: any Chinese locale gives Traditional
   * Chinese, any other English. `lang`, when given, wins.
   */
  locale?: string;
  /** Ignored: the payer picks the chain on the hosted checkout. */
  initialChain?: unknown;
  /** Ignored (KryptoGO's id of the kit's root element). */
  id?: string;
  /** Ignored: the checkout's look is the organisation's branding, set on the gateway. */
  theme?: unknown;
  /** Ignored (KryptoGO's wallet kit). */
  showRecentTransactions?: boolean;
  /** Ignored: the checkout shows the organisation's name, set on the gateway. */
  appInfo?: { appName?: string; learnMoreUrl?: string };
  /** Ignored: which gateway is used is `baseUrl` (a sandbox or production). */
  dev?: boolean;
  /** Ignored (KryptoGO's wallet kit). */
  avatar?: unknown;
  /** Ignored: this provider is always in payment mode. */
  mode?: "dapp" | "payment";
  /** Ignored: the payer needs no login. */
  authDisplayOptions?: { walletConnect?: boolean; oauth?: boolean; socialLogin?: boolean };
}

/**
 * The language of a KryptoGO `locale`, or undefined (then the browser's language is used).
 *
 * @example
 * languageOfLocale("zh-TW"); // "zh-TW"
 * languageOfLocale("en-US"); // "en"
 * languageOfLocale(undefined); // undefined
 */
export function languageOfLocale(locale: string | undefined): PaymentLanguage | undefined {
  if (!locale) return undefined;
  return locale.toLowerCase().startsWith("zh") ? "zh-TW" : "en";
}

/**
 * {@link PaymentProvider} under the name KryptoGO's React SDK gives its provider, taking its
 * props too: moving from `@kryptogo/payment` means changing the import and adding `baseUrl`
 * (docs/migrating-from-kryptogo.md). Wrapping providers of KryptoGO's setup (wagmi's
 * `WagmiProvider`, TanStack Query's `QueryClientProvider`) may stay or go: nothing here uses them.
 *
 * @example
 * import { KryptogoKitProvider, usePayment } from "@stablegate/react";
 *
 * export function App() {
 *   return (
 *     <KryptogoKitProvider clientId={clientId} baseUrl="https://pay.example.com" locale="zh-TW">
 *       <PaymentComponent />
 *     </KryptogoKitProvider>
 *   );
 * }
 */
export function KryptogoKitProvider(props: KryptogoKitProviderProps) {
  const {
    locale,
    initialChain: _initialChain,
    id: _id,
    theme: _theme,
    showRecentTransactions: _showRecentTransactions,
    appInfo: _appInfo,
    dev: _dev,
    avatar: _avatar,
    mode: _mode,
    authDisplayOptions: _authDisplayOptions,
    lang,
    ...rest
  } = props;
  if (typeof rest.baseUrl !== "string" || rest.baseUrl === "") {
    // KryptoGO's provider has no baseUrl: a migrated app that forgot it fails here, by name.
    throw new Error(
      '<KryptogoKitProvider> needs baseUrl: your Stablegate gateway\'s address, e.g. baseUrl="https://pay.example.com" (docs/migrating-from-kryptogo.md)',
    );
  }
  const language = lang ?? languageOfLocale(locale);
  return <PaymentProvider {...rest} {...(language ? { lang: language } : {})} />;
}
