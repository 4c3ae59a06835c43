import { version as reactVersion } from "react";
import { version as reactDomVersion } from "react-dom";
import { renderToString } from "react-dom/server";
import { describe, expect, expectTypeOf, inject, it } from "vitest";
import type { components } from "../../sdk/src/openapi.d.ts";
import {
  KryptogoKitProvider,
  type KryptogoKitProviderProps,
  type OpenPaymentModalParams,
  PaymentError,
  type PaymentIntent,
  PaymentProvider,
  type PaymentProviderProps,
  usePayment,
} from "./index.ts";
import { languageOfLocale } from "./kryptogo-kit-provider.tsx";
import { validatePaymentParams } from "./validate-params.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** The React major version the vitest project runs this file on (vitest.config.ts). */
    reactMajor: number;
  }
}

// The guide's two samples, verbatim but for the import: they must compile against the SDK.
function PaymentComponent() {
  const { openPaymentModal, closePaymentModal, data, isLoading, isSuccess, isError, error } =
    usePayment();
  void [closePaymentModal, data, isLoading, isSuccess, isError, error];
  return (
    <button
      type="button"
      onClick={() =>
        openPaymentModal({
          fiat_amount: "100",
          fiat_currency: "TWD",
        })
      }
    >
      Pay Now
    </button>
  );
}

function AdvancedPaymentComponent() {
  const { openPaymentModal } = usePayment();
  const handlePayment = () => {
    openPaymentModal({
      fiat_amount: "100",
      fiat_currency: "TWD",
      callback_url: "https://your-server.com/payment/callback",
      order_data: {
        orderId: "12345",
        productName: "Product Name",
        customerInfo: {
          id: "user123",
          email: "user@example.com",
        },
      },
      group_key: "product_purchase",
    });
  };
  return (
    <button type="button" onClick={handlePayment}>
      Process Payment
    </button>
  );
}

describe("usePayment types", () => {
  type Result = ReturnType<typeof usePayment>;

  it("returns exactly the fields of KryptoGO's usePayment", () => {
    expectTypeOf<keyof Result>().toEqualTypeOf<
      | "openPaymentModal"
      | "closePaymentModal"
      | "setPaymentIntent"
      | "data"
      | "error"
      | "txHash"
      | "isLoading"
      | "isSuccess"
      | "isError"
    >();
    expectTypeOf<Result["openPaymentModal"]>().parameters.toEqualTypeOf<[OpenPaymentModalParams]>();
    expectTypeOf<Result["openPaymentModal"]>().returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf<Result["closePaymentModal"]>().toEqualTypeOf<() => void>();
    expectTypeOf<Result["setPaymentIntent"]>().parameter(0).toEqualTypeOf<PaymentIntent | null>();
    expectTypeOf<Result["data"]>().toEqualTypeOf<PaymentIntent | null>();
    expectTypeOf<Result["error"]>().toEqualTypeOf<PaymentError | null>();
    expectTypeOf<Result["error"]>().toExtend<Error | null>();
    expectTypeOf<Result["txHash"]>().toEqualTypeOf<string | undefined>();
    expectTypeOf<Result["isLoading"]>().toEqualTypeOf<boolean>();
    expectTypeOf<Result["isSuccess"]>().toEqualTypeOf<boolean>();
    expectTypeOf<Result["isError"]>().toEqualTypeOf<boolean>();
  });

  it("takes the create-intent body's fields as openPaymentModal's params", () => {
    expectTypeOf<OpenPaymentModalParams>().toEqualTypeOf<{
      fiat_amount: string;
      fiat_currency: components["schemas"]["FiatCurrency"];
      callback_url?: string;
      order_data?: Record<string, unknown>;
      group_key?: string;
      payment_chain_id?: string;
      symbol?: string;
      description?: string;
      return_url?: string;
    }>();
    // @ts-expect-error fiat_amount is a decimal string, as in the API
    expectTypeOf<OpenPaymentModalParams>().toExtend<{ fiat_amount: number }>();
  });

  it("describes an intent exactly as the gateway's OpenAPI document does", () => {
    expectTypeOf<PaymentIntent>().toEqualTypeOf<components["schemas"]["PaymentIntent"]>();
  });
});

describe("openPaymentModal's parameter check", () => {
  const params = (fiat_amount: string) => ({ fiat_amount, fiat_currency: "TWD" as const });

  it.each([
    "0.01",
    "1",
    "100",
    "300.0",
    "300.000",
    "0.0100",
    "0000.10",
    "1000000000",
    "1000000000.000",
  ])("accepts %s", (amount) => {
    expect(() => validatePaymentParams(params(amount))).not.toThrow();
  });

  it.each([
    ["0.019", /at most 2 decimals/],
    ["1000000000.01", /at most 1000000000/],
    ["99999999999", /at most 1000000000/],
    ["0.001", /at most 2 decimals/],
    ["1.0010", /at most 2 decimals/],
    ["0.00", /at least 0\.01/],
    ["0", /at least 0\.01/],
    ["0.00", /at least 0\.01/],
    ["-1", /decimal string/],
    ["1e3", /decimal string/],
    ["abc", /decimal string/],
    ["", /decimal string/],
    [" 1", /decimal string/],
  ])("refuses %j", (amount, message) => {
    const refused = (() => {
      try {
        validatePaymentParams(params(amount));
      } catch (err) {
        return err;
      }
    })();
    expect(refused).toBeInstanceOf(PaymentError);
    expect(refused).toMatchObject({ kind: "validation", data: { field: "fiat_amount" } });
    expect((refused as Error).message).toMatch(message);
  });

  it("refuses a number (a JavaScript caller without types)", () => {
    expect(() =>
      validatePaymentParams({ fiat_amount: 100 as unknown as string, fiat_currency: "TWD" }),
    ).toThrow(/decimal string/);
  });
});

describe("PaymentProvider", () => {
  it("renders the guide's components on the server (no window needed until a click)", () => {
    const html = renderToString(
      <PaymentProvider clientId="9c5a79fc1117310f976b53752659b61d" baseUrl="https://pay.example">
        <PaymentComponent />
        <AdvancedPaymentComponent />
      </PaymentProvider>,
    );
    expect(html).toContain("Pay Now");
    expect(html).toContain("Process Payment");
    expect(html).not.toContain('role="dialog"');
  });

  it("says where usePayment is missing its provider", () => {
    expect(() => renderToString(<PaymentComponent />)).toThrow(/inside <PaymentProvider/);
  });
});

describe("the React it runs on", () => {
  it("is the one its vitest project says (19, or 18 in the react-18 project)", () => {
    const major = String(inject("reactMajor"));
    expect(reactVersion.split(".")[0]).toBe(major);
    expect(reactDomVersion.split(".")[0]).toBe(major);
  });
});

describe("KryptogoKitProvider", () => {
  it("takes every prop of KryptoGO's provider besides ours", () => {
    expectTypeOf<KryptogoKitProviderProps>().toExtend<PaymentProviderProps>();
    // KryptoGO's setup, as its guide writes it, plus baseUrl.
    const props: KryptogoKitProviderProps = {
      clientId: "9c5a79fc1117310f976b53752659b61d",
      baseUrl: "https://pay.example",
      initialChain: 42161,
      id: "kit",
      theme: null,
      showRecentTransactions: true,
      appInfo: { appName: "Shop", learnMoreUrl: "https://shop.example/help" },
      dev: true,
      avatar: () => null,
      locale: "zh-TW",
      mode: "payment",
      authDisplayOptions: { walletConnect: false, oauth: false, socialLogin: false },
    };
    // @ts-expect-error baseUrl is what a migration adds: without it the app does not compile
    const withoutBaseUrl: KryptogoKitProviderProps = { clientId: props.clientId };
    void withoutBaseUrl;
  });

  it("renders the guide's components like PaymentProvider, with KryptoGO's props", () => {
    const html = renderToString(
      <KryptogoKitProvider
        clientId="9c5a79fc1117310f976b53752659b61d"
        baseUrl="https://pay.example"
        locale="zh-TW"
        theme={null}
        appInfo={{ appName: "Shop" }}
        mode="payment"
      >
        <PaymentComponent />
        <AdvancedPaymentComponent />
      </KryptogoKitProvider>,
    );
    expect(html).toBe(
      renderToString(
        <PaymentProvider clientId="9c5a79fc1117310f976b53752659b61d" baseUrl="https://pay.example">
          <PaymentComponent />
          <AdvancedPaymentComponent />
        </PaymentProvider>,
      ),
    );
  });

  it("says so when a migrated app did not add baseUrl", () => {
    const props = { clientId: "9c5a79fc1117310f976b53752659b61d" } as KryptogoKitProviderProps;
    expect(() =>
      renderToString(
        <KryptogoKitProvider {...props}>
          <PaymentComponent />
        </KryptogoKitProvider>,
      ),
    ).toThrow(/<KryptogoKitProvider> needs baseUrl/);
  });

  it.each([
    ["zh-TW", "zh-TW"],
    ["zh-CN", "zh-TW"],
    ["zh", "zh-TW"],
    ["en-US", "en"],
    ["ja-JP", "en"],
    [undefined, undefined],
    ["", undefined],
  ] as const)("takes locale %j as the language %j", (locale, lang) => {
    expect(languageOfLocale(locale)).toBe(lang);
  });
});
