import FraudCore

/// Why the wallet refused an operation; each case says what to do about it.
public enum WalletError: Error, Equatable, CustomStringConvertible {
    /// The wallet has less available money than the payment asks for.
    case insufficientFunds(walletID: String, available: Money, requested: Money)
    /// The wallet has never been funded in this currency.
    case unknownWallet(walletID: String, currency: Currency)
    /// A hold already exists for this payment id with different terms.
    case holdMismatch(paymentID: String)
    /// A top-up reference was reused for a different wallet or amount.
    case topUpMismatch(reference: String)
    case invalidAmount(Int64)

    public var description: String {
        switch self {
        case .insufficientFunds(let wallet, let available, let requested):
            "wallet '\(wallet)' has \(available) available, less than the \(requested) requested"
        case .unknownWallet(let wallet, let currency):
            "wallet '\(wallet)' has no \(currency) account; top it up in \(currency) first"
        case .holdMismatch(let payment):
            "payment '\(payment)' already has a hold with a different wallet, merchant or amount"
        case .topUpMismatch(let reference):
            "top-up reference '\(reference)' was already used for a different wallet or amount"
        case .invalidAmount(let amount):
            "amount_minor \(MoneyField.amountProblem(amount) ?? "must be 1 to \(Money.maximumMinorUnits) minor units, got \(amount)")"
        }
    }
}
