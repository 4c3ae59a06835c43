import { usePayment } from "@stablegate/react";

// The two components of the KryptoGO implementation guide ("Basic Usage" and "Advanced
// Usage"), unchanged but for the import and what Basic shows of the values it reads.

export function PaymentComponent() {
  const { openPaymentModal, closePaymentModal, data, isLoading, isSuccess, isError, error } =
    usePayment();

  return (
    <div>
      <button
        type="button"
        disabled={isLoading}
        onClick={() =>
          openPaymentModal({
            fiat_amount: "100",
            fiat_currency: "TWD",
          })
        }
      >
        Pay Now
      </button>
      {isLoading ? (
        <button type="button" onClick={closePaymentModal}>
          Cancel
        </button>
      ) : null}
      <p role="status" data-testid="basic-status">
        {isLoading ? "Creating your payment…" : null}
        {isSuccess && data
          ? `Paid ${data.received_amount ?? data.crypto_amount} ${data.symbol}. Thank you!`
          : null}
        {isError && error ? `Payment failed: ${error.message}` : null}
        {!isLoading && !isSuccess && !isError && data ? `Payment ${data.status}` : null}
      </p>
    </div>
  );
}

export function AdvancedPaymentComponent() {
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
