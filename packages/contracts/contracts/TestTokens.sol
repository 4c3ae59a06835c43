// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

// Tokens that misbehave the ways real ones do, for tests of the deposit sweeper. Test-only: anyone
// may mint, and nothing here is deployed outside a local chain.

/// @notice Shared by the test tokens: balances, open minting and the Transfer event.
abstract contract MintableTestToken {
    uint8 public constant decimals = 6;
    mapping(address => uint256) public balanceOf;

    event Transfer(address indexed from, address indexed to, uint256 value);

    function mint(address to, uint256 value) external {
        balanceOf[to] += value;
        emit Transfer(address(0), to, value);
    }

    /// Moves `value` when the balance allows; returns whether it did.
    function _move(address from, address to, uint256 value) internal returns (bool) {
        if (balanceOf[from] < value) return false;
        balanceOf[from] -= value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
        return true;
    }
}

/// @notice Like early ERC-20s (ZRX, BAT): a transfer above the balance returns false instead of
/// reverting, and moves nothing.
contract FalseReturningToken is MintableTestToken {
    function transfer(address to, uint256 value) external returns (bool) {
        return _move(msg.sender, to, value);
    }
}

/// @notice Like mainnet USDT: `transfer` returns nothing, and reverts when it cannot move the
/// amount.
contract NoReturnToken is MintableTestToken {
    error InsufficientBalance();

    function transfer(address to, uint256 value) external {
        if (!_move(msg.sender, to, value)) revert InsufficientBalance();
    }
}

/// @notice Reverts every transfer with a 1,000-character reason, as a token with verbose errors
/// (or a hostile one returning megabytes) might.
contract LongRevertToken is MintableTestToken {
    function transfer(address, uint256) external pure returns (bool) {
        bytes memory reason = new bytes(1000);
        for (uint256 i = 0; i < reason.length; i++) {
            reason[i] = "x";
        }
        revert(string(reason));
    }
}

interface IDepositSweeper {
    struct Transfer {
        address to;
        uint256 amount;
    }

    struct Sweep {
        address account;
        address token;
        Transfer[] transfers;
    }

    function sweep(address token, Transfer[] calldata transfers) external;
    function sweepMany(Sweep[] calldata sweeps) external returns (bool[] memory ok);
}

/// @notice A hostile token: before each transfer it calls back into the account it is transferred
/// from (`sweep`, to move that account's balance to itself) and into the sweeper (`sweepMany`),
/// recording whether each call was let through. Then it transfers as asked.
contract ReentrantToken is MintableTestToken {
    address public sweeper;

    event Reentered(address indexed target, bool ok, bytes reason);

    function setSweeper(address sweeper_) external {
        sweeper = sweeper_;
    }

    function transfer(address to, uint256 value) external returns (bool) {
        IDepositSweeper.Transfer[] memory steal = new IDepositSweeper.Transfer[](1);
        steal[0] = IDepositSweeper.Transfer(address(this), balanceOf[msg.sender]);
        (bool ok, bytes memory reason) = msg.sender.call(
            abi.encodeCall(IDepositSweeper.sweep, (address(this), steal))
        );
        emit Reentered(msg.sender, ok, reason);

        IDepositSweeper.Sweep[] memory sweeps = new IDepositSweeper.Sweep[](1);
        sweeps[0] = IDepositSweeper.Sweep(msg.sender, address(this), steal);
        (ok, reason) = sweeper.call(abi.encodeCall(IDepositSweeper.sweepMany, (sweeps)));
        emit Reentered(sweeper, ok, reason);

        return _move(msg.sender, to, value);
    }
}
