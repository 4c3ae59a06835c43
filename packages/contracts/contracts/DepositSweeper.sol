// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title Stablegate deposit sweeper (EIP-7702)
/// @notice Moves tokens out of many deposit addresses in one transaction paid by the gateway's gas
/// wallet, so a deposit address never needs native coin. Each deposit address (an EOA whose key the
/// gateway derives per payment) signs an EIP-7702 authorization delegating its code to this
/// contract; the gas wallet (`operator`) sends one type-4 transaction carrying the authorizations
/// that calls `sweepMany` on the deployment, which calls `sweep` on each deposit address, where
/// this code runs as the deposit address and transfers its tokens.
/// @dev One bytecode plays two roles, told apart by `address(this)`: on the deployment (`self`)
/// only `sweepMany` works, by the operator; on a delegated address only `sweep` works, when called
/// by the deployment. Everything the code needs is immutable, so it lives in the bytecode and a
/// delegated address's storage is never read or written: no slot of ours can collide with what an
/// earlier delegation left there, and nothing a stranger writes there can change what this code
/// does.
///
/// Reentrancy: the only outside code called is the token's `transfer` (and `sweep` on the accounts
/// named by the operator). A token calling back into `sweep` on the deposit address is refused
/// because its caller is the token, not the deployment; calling `sweepMany` is refused because
/// the token is not the operator. With no storage there is no state for a reentrant call to see
/// half-written either.
///
/// Whoever is the operator can move every token of every address delegated to this deployment:
/// the operator is part of the init code, so each gateway's gas wallet has its own deployment (and
/// CREATE2 address) and delegations to one gateway's sweeper cannot be driven by another.
contract DepositSweeper {
    struct Transfer {
        address to;
        uint256 amount;
    }

    struct Sweep {
        address account;
        address token;
        Transfer[] transfers;
    }

    /// The only account that may start sweeps (the gateway's gas wallet), fixed at deployment.
    address public immutable operator;

    /// The deployment's own address. Under delegation `address(this)` is the delegating account,
    /// while immutables still hold what the constructor saw, which is how the two roles differ.
    address private immutable self;

    /// The code hash of an account delegated to this deployment: keccak256(0xef0100 || self).
    bytes32 private immutable delegatedCodeHash;

    /// What is kept of a token's revert data. A token (or anything it calls) could revert with
    /// megabytes; copying all of it would cost the whole batch's gas for one failed sweep.
    uint256 private constant MAX_TOKEN_REASON_BYTES = 256;
    /// What is kept of a sweep's revert data: room for TransferReverted wrapping a token's reason
    /// cut as above (4 + 3 * 32 + 256 bytes), so the reason in SweepResult always decodes.
    uint256 private constant MAX_SWEEP_REASON_BYTES = 512;

    /// Emitted by the delegated account (log address = the deposit address) per transfer made.
    event Swept(address indexed token, address indexed to, uint256 amount);

    /// Emitted by the deployment (log address = the sweeper) once per sweep of a batch, in order:
    /// index into `sweeps`, the account, whether all its transfers were made, and the revert data if not.
    event SweepResult(uint256 indexed index, address indexed account, bool ok, bytes reason);

    /// `sweepMany` called by someone other than the operator.
    error NotOperator(address caller);
    /// `sweepMany` called on a delegated account rather than on the deployment.
    error NotDeployment();
    /// `sweep` called by someone other than the deployment.
    error NotFromDeployment(address caller);
    /// `sweep` called on the deployment itself, which holds no deposits.
    error NotDelegated();
    /// A sweep's account is not delegated to this deployment (its authorization did not apply, or it
    /// is delegated elsewhere); reported in SweepResult, nothing was called.
    error AccountNotDelegated(address account);
    /// The token address has no code: a transfer to it would "succeed" without moving anything.
    error TokenWithoutCode(address token);
    /// The transfer at `index` of a sweep reverted; `reason` is the token's revert data (truncated).
    error TransferReverted(uint256 index, bytes reason);
    /// The transfer at `index` of a sweep returned false (or something other than true).
    error TransferReturnedFalse(uint256 index);

    constructor(address operator_) {
        operator = operator_;
        self = address(this);
        delegatedCodeHash = keccak256(abi.encodePacked(hex"ef0100", address(this)));
    }

    /// Called by the operator on the deployment's own address: runs each sweep, a failing one does
    /// not revert the others; returns per-sweep success.
    function sweepMany(Sweep[] calldata sweeps) external returns (bool[] memory ok) {
        if (msg.sender != operator) revert NotOperator(msg.sender);
        if (address(this) != self) revert NotDeployment();

        ok = new bool[](sweeps.length);
        for (uint256 i = 0; i < sweeps.length; i++) {
            Sweep calldata s = sweeps[i];
            bytes memory reason;
            // The code hash, not just "has code": a call to an account without code succeeds
            // without doing anything (an authorization that did not apply leaves the account
            // without code), and an account delegated to some other contract would run that
            // contract's `sweep`, or its fallback, and might also report success.
            if (s.account.codehash != delegatedCodeHash) {
                reason = abi.encodeWithSelector(AccountNotDelegated.selector, s.account);
            } else {
                // A low-level call rather than try/catch, so that whatever the account does is
                // caught here and the batch goes on.
                (ok[i], reason) = _call(
                    s.account, abi.encodeCall(this.sweep, (s.token, s.transfers)), MAX_SWEEP_REASON_BYTES
                );
                if (ok[i]) reason = "";
            }
            emit SweepResult(i, s.account, ok[i], reason);
        }
    }

    /// Runs as the delegated deposit EOA's code: moves `token` from this account to each transfer's
    /// recipient. Callable only by the deployment (its sweepMany), never on the deployment itself.
    /// All or nothing: a failed transfer reverts the ones made before it.
    function sweep(address token, Transfer[] calldata transfers) external {
        if (msg.sender != self) revert NotFromDeployment(msg.sender);
        if (address(this) == self) revert NotDelegated();
        // Checked once here rather than trusting the return value: calling an address without code
        // succeeds with no return data, which is exactly what a USDT-style token returns.
        if (token.code.length == 0) revert TokenWithoutCode(token);

        for (uint256 i = 0; i < transfers.length; i++) {
            Transfer calldata t = transfers[i];
            // 0xa9059cbb: transfer(address,uint256).
            (bool success, bytes memory returned) = _call(
                token, abi.encodeWithSelector(0xa9059cbb, t.to, t.amount), MAX_TOKEN_REASON_BYTES
            );
            if (!success) revert TransferReverted(i, returned);
            // Tokens like mainnet USDT return nothing; the others must return true. Compared as a
            // word rather than with abi.decode, which would revert without a reason on a value
            // other than 0 or 1 instead of naming the transfer.
            if (returned.length != 0 && (returned.length < 32 || uint256(bytes32(returned)) != 1)) {
                revert TransferReturnedFalse(i);
            }
            emit Swept(token, t.to, t.amount);
        }
    }

    /// A delegated address must still accept native coin sent to it.
    receive() external payable {}

    /// `target.call(data)` copying at most `maxBytes` of what it returns.
    function _call(address target, bytes memory data, uint256 maxBytes)
        private
        returns (bool success, bytes memory returned)
    {
        assembly ("memory-safe") {
            success := call(gas(), target, 0, add(data, 0x20), mload(data), 0, 0)
            let size := returndatasize()
            if gt(size, maxBytes) { size := maxBytes }
            returned := mload(0x40)
            mstore(returned, size)
            returndatacopy(add(returned, 0x20), 0, size)
            mstore(0x40, add(add(returned, 0x20), and(add(size, 0x1f), not(0x1f))))
        }
    }
}
