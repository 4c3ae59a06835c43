import { PaymentProvider } from "@stablegate/react";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { Shop } from "./shop.tsx";

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <PaymentProvider
        clientId={import.meta.env.VITE_STABLEGATE_CLIENT_ID}
        baseUrl={import.meta.env.VITE_STABLEGATE_BASE_URL}
      >
        <Shop />
      </PaymentProvider>
    </StrictMode>,
  );
}
