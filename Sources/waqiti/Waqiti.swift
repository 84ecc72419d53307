import ArgumentParser

@main
struct Waqiti: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "waqiti",
        abstract: "Real-time fraud detection for payments: velocity features, rules, a logistic model.",
        subcommands: Subcommands.all
    )
}

/// The CLI's subcommands, one file each under Sources/waqiti/Commands/.
enum Subcommands {
    static let all: [any ParsableCommand.Type] = [
        DecisionsCommand.self,
        EvaluateCommand.self,
        ReplayCommand.self,
        ProduceCommand.self,
        RulesCommand.self,
        ServeCommand.self,
        SimulateCommand.self,
        TrainCommand.self,
        PaymentCommand.self,
        WalletCommand.self,
        ReconcileCommand.self,
        ParkedCommand.self,
        TrafficCommand.self,
    ]
}
