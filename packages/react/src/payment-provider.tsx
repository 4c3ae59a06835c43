import {
  createContext,
  type ReactNode,
  useCallback,
  useEffect,
  useMemo,
  useRef,
  useState,
} from "react";
import { createGatewayApi } from "./gateway-api.ts";
import { detectLanguage, type PaymentLanguage } from "./messages.ts";
import { type CheckoutStatusMessage, PaymentModal } from "./payment-modal.tsx";
import {
  type OpenPaymentModalParams,
  PaymentError,
  type PaymentIntent,
  type PaymentStatus,
} from "./types.ts";
import { validatePaymentParams } from "./validate-params.ts";

export interface PaymentProviderProps {
  /** Your client's id (32 hex characters): `client_id` in the gateway's client list. */
  clientId: string;
  /**
   * The gateway's base URL, e.g. `https://pay.example.com` (the sandbox: `api_base_url` in
   * data/sandbox.json). The page's origin must be one of the client's allowed origins.
   */
  baseUrl: string;
  /** The language of the modal and the hosted checkout; by default the browser's. */
  lang?: PaymentLanguage;
  /** How often the open modal asks the gateway for the intent's status (default 2000 ms). */
  pollIntervalMs?: number;
  children?: ReactNode;
}

/** What `usePayment()` returns; field names and meanings follow KryptoGO's `usePayment`. */
export interface UsePaymentResult {
  /**
   * Checks the parameters, creates the payment intent (client id and page Origin, no API key)
   * and opens the checkout modal on it. Resolves once the modal is open; rejects with a
   * {@link PaymentError} (also put in `error`) when the parameters or the request fail.
   */
  openPaymentModal(params: OpenPaymentModalParams): Promise<void>;
  /** Closes the modal. `data` keeps the last known state of the intent. */
  closePaymentModal(): void;
  /**
   * Follows an intent created elsewhere (by your server with the API key, or on an earlier
   * page): it becomes `data`; with `{ open: true }` the modal opens on it. `null` forgets it.
   */
  setPaymentIntent(intent: PaymentIntent | null, options?: { open?: boolean }): void;
  /** The payment intent as the API returns it, kept up to date while the modal is open. */
  data: PaymentIntent | null;
  /** Why the last payment failed: refused parameters, a failed request, or an unpaid end. */
  error: PaymentError | null;
  /** The payment's transaction hash (`data.payment_tx_hash`) once it has one. */
  txHash: string | undefined;
  /** True while the intent is being created. */
  isLoading: boolean;
  /** True when the intent's status is `success`. */
  isSuccess: boolean;
  /** True when `error` is set. */
  isError: boolean;
}

interface PaymentState {
  data: PaymentIntent | null;
  error: PaymentError | null;
  isLoading: boolean;
  isOpen: boolean;
}

export const PaymentContext = createContext<UsePaymentResult | null>(null);

// No status leaves these two; insufficient_not_refunded still becomes insufficient_refunded.
const SETTLED: ReadonlySet<PaymentStatus> = new Set([
  "success",
  "expired",
  "insufficient_refunded",
]);

/** The error a finished but unpaid intent stands for, so `isError` covers every bad ending. */
function outcomeError(intent: PaymentIntent): PaymentError | null {
  const { status } = intent;
  if (status === "expired") {
    return new PaymentError("payment", "the payment expired before it was paid", { status });
  }
  if (status === "insufficient_not_refunded" || status === "insufficient_refunded") {
    const received = intent.received_amount ?? "0";
    return new PaymentError(
      "payment",
      `less than the amount due was received (${received} of ${intent.crypto_amount} ${intent.symbol})`,
      { status },
    );
  }
  return null;
}

function focusedElement(): HTMLElement | null {
  const active = typeof document === "undefined" ? null : document.activeElement;
  return active instanceof HTMLElement && active !== document.body ? active : null;
}

function asPaymentError(err: unknown): PaymentError {
  if (err instanceof PaymentError) return err;
  return new PaymentError("network", err instanceof Error ? err.message : String(err), {
    cause: err,
  });
}

/**
 * Makes `usePayment()` work in the components below it: it holds the payment's state, talks to
 * the gateway and renders the checkout modal. Put it once near the root of your app.
 *
 * @example
 * import { PaymentProvider } from "@stablegate/react";
 *
 * export function App() {
 *   return (
 *     <PaymentProvider clientId="9c5a79fc1117310f976b53752659b61d" baseUrl="https://pay.example.com">
 *       <PaymentComponent />
 *     </PaymentProvider>
 *   );
 * }
 */
export function PaymentProvider({
  clientId,
  baseUrl,
  lang,
  pollIntervalMs = 2000,
  children,
}: PaymentProviderProps) {
  const api = useMemo(() => createGatewayApi({ baseUrl, clientId }), [baseUrl, clientId]);
  const [state, setState] = useState<PaymentState>({
    data: null,
    error: null,
    isLoading: false,
    isOpen: false,
  });
  // Each open, close or set bumps it: an answer to an older request is dropped.
  const generation = useRef(0);
  // What had focus when the payment started (the Pay button): it gets it back on close.
  const opener = useRef<HTMLElement | null>(null);
  const [language, setLanguage] = useState<PaymentLanguage>(lang ?? "en");
  useEffect(() => setLanguage(lang ?? detectLanguage()), [lang]);

  const applyIntent = useCallback((intent: PaymentIntent) => {
    setState((s) => {
      if (s.data?.payment_intent_id !== intent.payment_intent_id) return s;
      // A settled status is final: a slower, older answer must not bring back `pending`.
      if (SETTLED.has(s.data.status) && s.data.status !== intent.status) return s;
      return { ...s, data: intent, error: outcomeError(intent) };
    });
  }, []);

  const openPaymentModal = useCallback(
    async (params: OpenPaymentModalParams) => {
      const current = ++generation.current;
      opener.current = focusedElement();
      try {
        validatePaymentParams(params);
      } catch (err) {
        const error = asPaymentError(err);
        setState((s) => ({ ...s, isLoading: false, error }));
        throw error;
      }
      setState({ data: null, error: null, isLoading: true, isOpen: false });
      try {
        const intent = await api.createIntent(params);
        if (current !== generation.current) return;
        setState({ data: intent, error: null, isLoading: false, isOpen: true });
      } catch (err) {
        const error = asPaymentError(err);
        if (current === generation.current) {
          setState((s) => ({ ...s, isLoading: false, error }));
        }
        throw error;
      }
    },
    [api],
  );

  const closePaymentModal = useCallback(() => {
    generation.current++;
    setState((s) => ({ ...s, isLoading: false, isOpen: false }));
  }, []);

  const setPaymentIntent = useCallback(
    (intent: PaymentIntent | null, options: { open?: boolean } = {}) => {
      generation.current++;
      if (options.open) opener.current = focusedElement();
      setState((s) => ({
        data: intent,
        error: intent ? outcomeError(intent) : null,
        isLoading: false,
        isOpen: intent !== null && (options.open ?? s.isOpen),
      }));
    },
    [],
  );

  const openId = state.isOpen ? state.data?.payment_intent_id : undefined;
  const settled = state.data ? SETTLED.has(state.data.status) : false;

  const refresh = useCallback(
    (id: string, signal?: AbortSignal) =>
      api.getIntent(id, signal).then(applyIntent, () => {
        // Transient: the next poll or the checkout frame's next message brings the news.
      }),
    [api, applyIntent],
  );

  // Polling keeps the status right even where the frame is blocked or cannot post messages.
  useEffect(() => {
    if (openId === undefined || settled) return;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      await refresh(openId, controller.signal);
      if (!controller.signal.aborted) timer = setTimeout(tick, pollIntervalMs);
    };
    timer = setTimeout(tick, pollIntervalMs);
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [openId, settled, pollIntervalMs, refresh]);

  const onStatusMessage = useCallback(
    (message: CheckoutStatusMessage) => {
      setState((s) => {
        if (!s.data || s.data.payment_intent_id !== message.payment_intent_id) return s;
        if (SETTLED.has(s.data.status) || s.data.status === message.status) return s;
        const data: PaymentIntent = {
          ...s.data,
          status: message.status,
          payment_tx_hash: message.payment_tx_hash ?? s.data.payment_tx_hash,
        };
        return { ...s, data, error: outcomeError(data) };
      });
      // The message carries the status; the API has the rest (received_amount, ...).
      void refresh(message.payment_intent_id);
    },
    [refresh],
  );

  const value = useMemo<UsePaymentResult>(
    () => ({
      openPaymentModal,
      closePaymentModal,
      setPaymentIntent,
      data: state.data,
      error: state.error,
      txHash: state.data?.payment_tx_hash ?? undefined,
      isLoading: state.isLoading,
      isSuccess: state.data?.status === "success",
      isError: state.error !== null,
    }),
    [openPaymentModal, closePaymentModal, setPaymentIntent, state],
  );

  return (
    <PaymentContext.Provider value={value}>
      {children}
      {state.isOpen && state.data ? (
        <PaymentModal
          intent={state.data}
          baseUrl={baseUrl}
          lang={language}
          returnFocusTo={opener.current}
          onClose={closePaymentModal}
          onStatusMessage={onStatusMessage}
        />
      ) : null}
    </PaymentContext.Provider>
  );
}
