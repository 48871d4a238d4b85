//! The machine driver's steps: the customer's choice (vend), out of service and back.

use super::*;

impl ScenarioRun<'_> {
    pub(super) async fn vend(
        &mut self,
        machine: Option<&str>,
        chosen: &[Item],
        expect: Option<DriverOutcome>,
    ) -> StepResult {
        let machine = self.machine_or_last(machine)?;
        let what = format!("{machine}: the customer takes {}", describe_items(chosen));
        let body = json!({ "items": items(chosen) });
        let answer = self.drive(what, self.machine_driver()?.vend(&machine, &body)).await?;
        check_driver(&answer, expect.unwrap_or(DriverOutcome::Ok), "vend")
    }

    pub(super) async fn set_in_service(
        &mut self,
        machine: &str,
        in_service: bool,
        expect: Option<DriverOutcome>,
    ) -> StepResult {
        let action = if in_service { "in-service" } else { "out-of-service" };
        let call = self.machine_driver()?.set_in_service(machine, in_service);
        let answer = self.drive(format!("{machine}: {action}"), call).await?;
        if answer.ok() {
            if !in_service {
                self.out_of_service.insert(machine.to_owned());
            } else {
                self.out_of_service.remove(machine);
            }
        }
        check_driver(&answer, expect.unwrap_or(DriverOutcome::Ok), action)
    }
}
