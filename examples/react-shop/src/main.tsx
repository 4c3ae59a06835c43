import { PaymentProvider } from "@stablegate/react";
import { StrictMode, version } from "react";
import { createRoot } from "react-dom/client";
import { Shop } from "./shop.tsx";

// Which React runs the shop: it is built on React 19 and on 18 (REACT_VERSION=18), and the
// browser test checks that each build runs the React it asked for.
document.documentElement.dataset.reactVersion = version;

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
